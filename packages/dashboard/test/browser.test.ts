import type { CircuitBreaker } from '@breakwater/core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROWSER_TEST_TIMEOUT,
  type DashboardPage,
  launchBrowser,
  openDashboard,
  type PageWindow,
  rgbOf,
  rowSelector,
} from './browser-harness.js';
import { type DashboardServer, startDashboardServer } from './fixture.js';

const TOKEN = 'operator-token-for-the-browser-tests';
const XSS = '<img src=x onerror=alert(1)>';
/**
 * For what comes with the next 1 s sample, or a round trip on a loaded machine: vitest's 1 s
 * default poll budget has no margin for either.
 */
const STATS_WAIT = { timeout: 3000 };

let browser: Browser | undefined;
let server: DashboardServer | undefined;
let readOnly: DashboardServer | undefined;
const pages: DashboardPage[] = [];

beforeAll(async () => {
  [browser, server, readOnly] = await Promise.all([
    launchBrowser(),
    startDashboardServer({ token: TOKEN }),
    startDashboardServer(),
  ]);
}, BROWSER_TEST_TIMEOUT);

afterAll(async () => {
  // Pages first (their event streams end), then the servers, then the browser: even after a failure.
  await Promise.allSettled(pages.map((page) => page.close()));
  await Promise.allSettled([server?.close(), readOnly?.close()]);
  await browser?.close();
}, BROWSER_TEST_TIMEOUT);

async function open(on: DashboardServer): Promise<DashboardPage> {
  if (browser === undefined) throw new Error('the browser did not start');
  const page = await openDashboard(browser, on.url);
  pages.push(page);
  return page;
}

function running(): DashboardServer {
  if (server === undefined) throw new Error('the dashboard server did not start');
  return server;
}

/**
 * Resolves once the server's sampler has a baseline for `name` (its history has a sample), so
 * calls made from now on show in the history: what a breaker did before it is not in it.
 */
async function sampled(dashboard: DashboardServer, name: string): Promise<void> {
  await expect
    .poll(async () => {
      const response = await fetch(`${dashboard.url}breakers`);
      const body = (await response.json()) as {
        breakers: { name: string; history: { calls: number[] } }[];
      };
      return body.breakers.find((view) => view.name === name)?.history.calls.length ?? 0;
    }, STATS_WAIT)
    .toBeGreaterThan(0);
}

/** Calls that fail as a refused connection does: the default failure policy counts those. */
async function fail(breaker: CircuitBreaker<unknown>, times: number): Promise<void> {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    code: 'ECONNREFUSED',
  });
  for (let i = 0; i < times; i++) {
    await breaker.execute(() => Promise.reject(refused)).catch((error: unknown) => error);
  }
}

describe('the dashboard page in chromium', { timeout: BROWSER_TEST_TIMEOUT }, () => {
  it('loads from the server alone: no console errors, no failed requests, nothing from elsewhere', async () => {
    const dashboard = running();
    dashboard.registry.get('inventory');
    await dashboard.registry.get('inventory').execute(() => 'ok');
    const { page, problems } = await open(dashboard);

    const row = page.locator(rowSelector('inventory'));
    await expect.poll(() => row.getAttribute('data-state')).toBe('closed');
    expect(await row.locator('[data-testid="state"]').textContent()).toBe('closed');
    expect(await page.locator('[data-testid="health"]').getAttribute('data-status')).toBe(
      'healthy',
    );
    expect(await page.locator('[data-testid="connection"]').textContent()).toBe('live');
    expect(await page.locator('[data-testid="breaker-count"]').textContent()).toBe(
      `${dashboard.registry.size} / ${dashboard.registry.size}`,
    );
    // Every asset arrived and ran under the CSP: a refused script or style is a console error.
    expect(problems).toEqual([]);
  });

  it('turns a breaker red within 2 s of its opening on the server, without a reload', async () => {
    const dashboard = running();
    const breaker = dashboard.registry.get('payments', {
      failureThreshold: 2,
      openDuration: 60_000,
    });
    await sampled(dashboard, 'payments');
    const { page, problems } = await open(dashboard);
    const row = page.locator(rowSelector('payments'));
    await expect.poll(() => row.getAttribute('data-state')).toBe('closed');

    await fail(breaker, 2);
    expect(breaker.state().name).toBe('open');
    await page.waitForSelector(`${rowSelector('payments')}[data-state="open"]`, { timeout: 2000 });

    expect(await row.locator('[data-testid="state"]').textContent()).toBe('open');
    const [red, green, blue] = rgbOf(
      await row
        .locator('[data-testid="state"]')
        .evaluate(
          (el) => (globalThis as unknown as PageWindow).getComputedStyle(el).backgroundColor,
        ),
    );
    expect(red).toBeGreaterThan(150);
    expect(green).toBeLessThan(100);
    expect(blue).toBeLessThan(100);
    expect(await row.locator('[data-testid="last-transition"]').textContent()).toContain(
      'closed → open',
    );
    expect(await row.locator('[data-testid="last-transition"]').textContent()).toContain(
      'failure threshold',
    );
    // The countdown runs against the server's clock: about a minute to the first probe.
    const countdown = await row.locator('[data-testid="countdown"]').textContent();
    const [, minutes = '0', secs] = /^in (?:(\d+) m )?(\d+) s$/.exec(countdown ?? '') ?? [];
    const seconds = Number(minutes) * 60 + Number(secs);
    expect(seconds).toBeGreaterThanOrEqual(50);
    expect(seconds).toBeLessThanOrEqual(60);
    // A call while open is refused; the stats stream brings the count and the error share.
    await breaker.execute(() => 'ok').catch((error: unknown) => error);
    await expect
      .poll(() => row.locator('[data-testid="rejections"]').textContent(), STATS_WAIT)
      .toBe('1');
    // Two failures in three calls (the refusal is a call too).
    await expect
      .poll(() => row.locator('[data-testid="rate"]').textContent(), STATS_WAIT)
      .toBe('66.7%');
    // The roll-up follows: an open 'degraded' breaker makes the service degraded.
    await expect
      .poll(() => page.locator('[data-testid="health"]').getAttribute('data-status'), STATS_WAIT)
      .toBe('degraded');
    expect(problems).toEqual([]);
    breaker.reset();
  });

  it('force-opens a breaker on the server when the operator clicks open with the token', async () => {
    const dashboard = running();
    const breaker = dashboard.registry.get('search-index');
    const { page, problems } = await open(dashboard);
    await page.locator('[data-testid="token"]').fill(TOKEN);
    const row = page.locator(rowSelector('search-index'));

    const sent = page.waitForRequest(
      (request) => request.method() === 'POST' && request.url().endsWith('/search-index/open'),
    );
    await row.locator('[data-action="open"]').click();
    expect((await sent).headers()['x-breakwater-token']).toBe(TOKEN);

    await expect
      .poll(() => breaker.state(), STATS_WAIT)
      .toMatchObject({ name: 'open', forced: true });
    await page.waitForSelector(`${rowSelector('search-index')}[data-state="forced_open"]`);
    expect(await row.locator('[data-testid="state"]').textContent()).toBe('forced open');
    expect(await row.locator('[data-testid="countdown"]').textContent()).toBe('held open');

    await row.locator('[data-action="reset"]').click();
    await expect.poll(() => breaker.state().name, STATS_WAIT).toBe('closed');
    await page.waitForSelector(`${rowSelector('search-index')}[data-state="closed"]`);
    // The token stays for the tab (sessionStorage), not in the page's URL or markup.
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as PageWindow).sessionStorage.getItem('breakwater.token'),
      ),
    ).toBe(TOKEN);
    expect(await page.content()).not.toContain(TOKEN);
    expect(problems).toEqual([]);
  });

  it('shows the server refusing a wrong token (403) and a missing one (401); the breaker stays closed', async () => {
    const dashboard = running();
    const breaker = dashboard.registry.get('ledger');
    const dashboardPage = await open(dashboard);
    const { page, problems } = dashboardPage;
    dashboardPage.expectStatus('/ledger/open', 403);
    dashboardPage.expectStatus('/ledger/disable', 401);
    const row = page.locator(rowSelector('ledger'));
    const message = page.getByRole('alert');

    await page.locator('[data-testid="token"]').fill('not-the-token');
    const refused = page.waitForResponse((response) => response.url().endsWith('/ledger/open'));
    await row.locator('[data-action="open"]').click();
    const answer = await refused;
    expect(answer.status()).toBe(403);
    const { error } = (await answer.json()) as { error: string };
    await expect.poll(() => message.textContent(), STATS_WAIT).toContain(error);
    expect(await message.textContent()).toContain('403');
    expect(breaker.state().name).toBe('closed');

    await page.locator('[data-testid="token"]').fill('');
    const missing = page.waitForResponse((response) => response.url().endsWith('/ledger/disable'));
    await row.locator('[data-action="disable"]').click();
    const unauthorized = await missing;
    expect(unauthorized.status()).toBe(401);
    expect(unauthorized.request().headers()['x-breakwater-token']).toBeUndefined();
    const { error: needed } = (await unauthorized.json()) as { error: string };
    await expect.poll(() => message.textContent(), STATS_WAIT).toContain(needed);
    expect(breaker.state().name).toBe('closed');
    expect(await row.getAttribute('data-state')).toBe('closed');
    expect(problems).toEqual([]);
  });

  it('adds and drops rows as breakers come and go on the server', async () => {
    const dashboard = running();
    const { page, problems } = await open(dashboard);
    const count = page.locator('[data-testid="breaker-count"]');
    const before = dashboard.registry.size;

    dashboard.registry.get('tenant-acme');
    await page.waitForSelector(rowSelector('tenant-acme'), { timeout: 2000 });
    expect(await count.textContent()).toBe(`${before + 1} / ${before + 1}`);

    dashboard.registry.delete('tenant-acme');
    await page.locator(rowSelector('tenant-acme')).waitFor({ state: 'detached', timeout: 2000 });
    expect(await count.textContent()).toBe(`${before} / ${before}`);
    expect(problems).toEqual([]);
  });

  it('offers no controls and no token field when the server has no token', async () => {
    if (readOnly === undefined) throw new Error('the read-only server did not start');
    readOnly.registry.get('reports');
    const { page, problems } = await open(readOnly);
    await page.waitForSelector(rowSelector('reports'));

    expect(await page.locator('button[data-action]').count()).toBe(0);
    expect(await page.locator('[data-testid="token"]').isVisible()).toBe(false);
    expect(await page.getByText('read-only').isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('shows a breaker named like markup as text: no element made, no script run', async () => {
    const dashboard = running();
    dashboard.registry.get(XSS);
    const { page, problems } = await open(dashboard);
    const row = page.locator(rowSelector(XSS));
    await row.waitFor();

    expect(await row.locator('[data-testid="name"]').textContent()).toBe(XSS);
    expect(await row.locator('[data-action="open"]').getAttribute('aria-label')).toBe(
      `force open ${XSS}`,
    );
    await page.locator('[data-testid="search"]').fill('onerror');
    await expect
      .poll(() => page.locator('[data-testid="breaker-count"]').textContent(), STATS_WAIT)
      .toMatch(/^1 \//);
    // Markup set as HTML would have made the element at once, and its onerror a dialog.
    expect(await page.locator('img').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('says reconnecting when its stream drops, and takes the new snapshot once back', async () => {
    if (browser === undefined) throw new Error('the browser did not start');
    const own = await startDashboardServer();
    let dashboard: DashboardPage | undefined;
    try {
      const breaker = own.registry.get('warehouse');
      dashboard = await openDashboard(browser, own.url);
      const { page, problems } = dashboard;
      await page.waitForSelector(rowSelector('warehouse'));

      own.server.closeAllConnections();
      await page.waitForSelector('[data-testid="connection"][data-status="reconnecting"]');
      expect(await page.locator('[data-testid="connection"]').textContent()).toBe('reconnecting');
      // What happened while the page was away arrives with the snapshot of the new stream.
      breaker.forceOpen();
      own.registry.get('arrived-while-away');
      await page.waitForSelector('[data-testid="connection"][data-status="live"]', {
        timeout: 10_000,
      });
      await page.waitForSelector(`${rowSelector('warehouse')}[data-state="forced_open"]`);
      await page.waitForSelector(rowSelector('arrived-while-away'));
      expect(await page.locator('[data-testid="breaker-count"]').textContent()).toBe('2 / 2');
      // The cut stream is the only thing that went wrong.
      expect(problems.filter((problem) => !problem.includes('/events'))).toEqual([]);
    } finally {
      await dashboard?.close();
      await own.close();
    }
  });

  it('works mounted under a base path: every URL it uses is relative', async () => {
    if (browser === undefined) throw new Error('the browser did not start');
    const own = await startDashboardServer({ basePath: '/ops/breakers/' });
    let dashboard: DashboardPage | undefined;
    try {
      own.registry.get('billing');
      dashboard = await openDashboard(browser, own.url);
      await dashboard.page.waitForSelector(rowSelector('billing'));
      const paths = dashboard.requested.map((url) => new URL(url).pathname);
      expect(paths).toEqual(expect.arrayContaining(['/ops/breakers/', '/ops/breakers/events']));
      expect(paths.filter((path) => !path.startsWith('/ops/breakers/'))).toEqual([]);
      expect(dashboard.problems).toEqual([]);
    } finally {
      await dashboard?.close();
      await own.close();
    }
  });

  it('shows the snapshot when the server has no stream to spare, and goes live once one frees', async () => {
    if (browser === undefined) throw new Error('the browser did not start');
    const own = await startDashboardServer({ maxClients: 1 });
    let first: DashboardPage | undefined;
    let second: DashboardPage | undefined;
    try {
      own.registry.get('catalog');
      first = await openDashboard(browser, own.url);
      second = await openDashboard(browser, own.url, {
        live: false,
        expect: [{ pathEnd: '/events', status: 503 }],
      });
      const { page, problems, requested } = second;
      await page.waitForSelector('[data-testid="connection"][data-status="reconnecting"]');
      expect(requested.filter((url) => url.endsWith('/events')).length).toBeGreaterThan(0);
      // The snapshot came by GET: the page shows the breakers while it waits for a stream.
      await page.waitForSelector(rowSelector('catalog'));
      expect(await page.locator('[data-testid="connection"]').textContent()).toBe('reconnecting');

      await first.close();
      first = undefined;
      own.registry.get('catalog').forceOpen();
      await page.waitForSelector('[data-testid="connection"][data-status="live"]', {
        timeout: 10_000,
      });
      await page.waitForSelector(`${rowSelector('catalog')}[data-state="forced_open"]`);
      expect(problems).toEqual([]);
    } finally {
      await first?.close();
      await second?.close();
      await own.close();
    }
  });
});
