import type { ServerResponse } from 'node:http';
import { BreakerRegistry, type Logger, ManualClock } from '@breakwater/core';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScanStatsView } from '../src/sources.js';
import {
  BROWSER_TEST_TIMEOUT,
  type DashboardPage,
  launchBrowser,
  nextFrames,
  openDashboard,
  rowOrderBreaks,
  rowSelector,
  shownRows,
  watchRowOrder,
} from './browser-harness.js';
import { type DashboardServer, failingCall, startDashboardServer } from './fixture.js';

const TOKEN = 'operator-token-for-the-live-tests';
const SAMPLE_MS = 1000;

let browser: Browser | undefined;
const opened: DashboardPage[] = [];
const servers: DashboardServer[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, BROWSER_TEST_TIMEOUT);

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((page) => page.close()));
  await Promise.allSettled(servers.splice(0).map((server) => server.close()));
}, BROWSER_TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
}, BROWSER_TEST_TIMEOUT);

async function serve(options: Parameters<typeof startDashboardServer>[0] = {}) {
  const server = await startDashboardServer(options);
  servers.push(server);
  return server;
}

async function open(on: DashboardServer, height?: number): Promise<DashboardPage> {
  if (browser === undefined) throw new Error('the browser did not start');
  const page = await openDashboard(browser, on.url, height === undefined ? {} : { height });
  opened.push(page);
  return page;
}

/** A dashboard on a clock the test moves: a `stats` event goes out only when it says so. */
async function serveOnManualClock(
  options: Parameters<typeof startDashboardServer>[0] = {},
): Promise<{ server: DashboardServer; clock: ManualClock }> {
  const clock = new ManualClock(Date.now());
  return { server: await serve({ ...options, clock, sampleInterval: SAMPLE_MS }), clock };
}

const refused = (): Promise<never> =>
  Promise.reject(
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  );

const pathsEndingWith = (page: DashboardPage, end: string): number =>
  page.requested.filter((url) => new URL(url).pathname.endsWith(end)).length;

/** What the page's code sees of the focused element. */
async function focused(page: DashboardPage): Promise<string> {
  return page.page.evaluate(() => {
    const element = (
      globalThis as unknown as {
        document: {
          activeElement: {
            tagName: string;
            getAttribute(name: string): string | null;
            closest(selector: string): { getAttribute(name: string): string | null } | null;
          } | null;
        };
      }
    ).document.activeElement;
    if (element === null) return 'nothing';
    const row = element.closest('[data-testid="breaker-row"]');
    return `${element.tagName} ${element.getAttribute('data-action') ?? ''} ${row?.getAttribute('data-name') ?? ''}`;
  });
}

const rowNames = async (page: DashboardPage): Promise<string[]> =>
  (await shownRows(page.page)).map((row) => row.name);

describe('the dashboard page, live', { timeout: BROWSER_TEST_TIMEOUT }, () => {
  it('drops the row of a breaker that changed state and left before any sample saw it, without a resync', async () => {
    const { server, clock } = await serveOnManualClock();
    for (const name of ['a', 'b']) server.registry.get(name);
    const dashboard = await open(server);
    await dashboard.page.waitForSelector(rowSelector('b'));

    // A per-key breaker: made, tripped (its state event makes a row) and gone within a sample.
    const ghost = server.registry.get('ghost', { failureThreshold: 1 });
    await ghost.execute(refused).catch((error: unknown) => error);
    await dashboard.page.waitForSelector(`${rowSelector('ghost')}[data-state="open"]`);
    server.registry.delete('ghost');
    const snapshots = pathsEndingWith(dashboard, '/breakers');
    const streams = pathsEndingWith(dashboard, '/events');

    clock.advance(SAMPLE_MS);
    await dashboard.page
      .locator(rowSelector('ghost'))
      .waitFor({ state: 'detached', timeout: 2000 });
    expect(await dashboard.page.locator('[data-testid="breaker-count"]').textContent()).toBe(
      '2 / 2',
    );
    // The next sample's `added` did not list it: that alone said it was gone.
    expect(pathsEndingWith(dashboard, '/breakers')).toBe(snapshots);
    expect(pathsEndingWith(dashboard, '/events')).toBe(streams);
    expect(dashboard.problems).toEqual([]);
  });

  it('keeps a state change that lands while it resyncs (a new stream, not a GET racing the old one)', async () => {
    const { server, clock } = await serveOnManualClock();
    const victim = server.registry.get('victim');
    // Made after the dashboard's first sample: in the snapshot, and gone before any sample.
    server.registry.get('late');
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.waitForSelector(rowSelector('late'));
    server.registry.delete('late');

    // The moment the page starts again, whichever way it does: victim opens on the server.
    server.server.on('request', (req) => {
      if (req.method === 'GET' && req.url === '/events') setImmediate(() => victim.forceOpen());
    });
    await page.route('**/breakers', async (route) => {
      if (route.request().method() !== 'GET') {
        await route.continue();
        return;
      }
      // A snapshot fetched beside the stream, and a state event arriving before it is read.
      const response = await route.fetch();
      victim.forceOpen();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.fulfill({ response });
    });

    // The sample does not count `late`: the page is out of step and starts again.
    clock.advance(SAMPLE_MS);
    await page.locator(rowSelector('late')).waitFor({ state: 'detached', timeout: 3000 });
    expect(victim.state()).toMatchObject({ name: 'open', forced: true });
    await page.waitForSelector(`${rowSelector('victim')}[data-state="forced_open"]`, {
      timeout: 3000,
    });
    // And it stays so: nothing rolls it back once the resync is over.
    await new Promise((resolve) => setTimeout(resolve, 700));
    clock.advance(SAMPLE_MS);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await page.locator(rowSelector('victim')).getAttribute('data-state')).toBe(
      'forced_open',
    );
    expect(await page.locator('[data-testid="breaker-count"]').textContent()).toBe('1 / 1');
    // The page closed its old stream once, on purpose; nothing else went wrong.
    const closedStream = (problem: string): boolean =>
      problem.endsWith('/events (net::ERR_ABORTED)');
    expect(dashboard.problems.filter(closedStream)).toHaveLength(1);
    expect(dashboard.problems.filter((problem) => !closedStream(problem))).toEqual([]);
  });

  it("applies a control's answer to the state filter when the stream's event is slow", async () => {
    // No sample either (its `added` would bring the new state too): the answer is all there is.
    const { server } = await serveOnManualClock({ token: TOKEN });
    // Every `state` frame of every stream held back 3 s (a buffering proxy): the answer comes first.
    server.server.on('request', (req, res: ServerResponse) => {
      if (req.url !== '/events') return;
      const write = res.write.bind(res) as (chunk: unknown) => boolean;
      Object.assign(res, {
        write(chunk: unknown): boolean {
          if (!String(chunk).startsWith('event: state')) return write(chunk);
          setTimeout(() => {
            if (!res.writableEnded && !res.destroyed) write(chunk);
          }, 3000).unref();
          return true;
        },
      });
    });
    server.registry.get('a').forceOpen();
    server.registry.get('b').forceOpen();
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.locator('[data-testid="token"]').fill(TOKEN);
    await page.locator('[data-testid="state-filter"]').selectOption('forced_open');
    await page.waitForSelector(rowSelector('a'));
    const count = page.locator('[data-testid="breaker-count"]');
    expect(await count.textContent()).toBe('2 / 2');

    const answered = page.waitForResponse((response) => response.url().endsWith('/a/reset'));
    await page.locator(`${rowSelector('a')} [data-action="reset"]`).click();
    expect((await answered).status()).toBe(200);
    expect(server.registry.get('a').state().name).toBe('closed');
    // Well before the held-back state event: the answer alone takes the row out of the filter.
    await page.locator(rowSelector('a')).waitFor({ state: 'detached', timeout: 1500 });
    expect(await count.textContent()).toBe('1 / 2');
    expect(await rowNames(dashboard)).toEqual(['b']);
    expect(dashboard.problems).toEqual([]);
  });

  it('controls breakers whose names mean something in a URL: / ? # % and a line break', async () => {
    const server = await serve({ token: TOKEN });
    const names = ['a/b', 'q?x=1', 'h#1', '50%', '%2E', 'a/../b', 'line\nbreak'];
    for (const name of names) server.registry.get(name);
    const dashboard = await open(server, 1200);
    const { page } = dashboard;
    await page.locator('[data-testid="token"]').fill(TOKEN);
    for (const name of names) {
      await page.locator(`${rowSelector(name)} [data-action="open"]`).click();
      await expect
        .poll(() => server.registry.get(name).state(), { timeout: 3000 })
        .toMatchObject({ name: 'open', forced: true });
    }
    expect(dashboard.problems).toEqual([]);
  });

  it('controls breakers named "." and "..", which a URL path cannot carry', async () => {
    const server = await serve({ token: TOKEN });
    for (const name of ['.', '..', 'other']) server.registry.get(name);
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.locator('[data-testid="token"]').fill(TOKEN);
    for (const name of ['.', '..']) {
      const answer = page.waitForResponse((response) => response.request().method() === 'POST');
      await page.locator(`${rowSelector(name)} [data-action="open"]`).click();
      expect((await answer).status()).toBe(200);
      expect(server.registry.get(name).state()).toMatchObject({ name: 'open', forced: true });
      await page.waitForSelector(`${rowSelector(name)}[data-state="forced_open"]`);
    }
    expect(server.registry.get('other').state().name).toBe('closed');
    expect(dashboard.problems).toEqual([]);
  });

  it('scrolls back to the top for a new search or filter, so its first matches show', async () => {
    const server = await serve();
    const nameOf = (i: number): string => `b${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 500; i++) server.registry.get(nameOf(i));
    server.registry.get(nameOf(420)).forceOpen();
    const dashboard = await open(server);
    const { page } = dashboard;
    const viewport = page.locator('.viewport');
    await page.waitForSelector(rowSelector(nameOf(0)));
    await viewport.evaluate((element) => {
      element.scrollTop = 3000;
    });
    await page.waitForSelector(rowSelector(nameOf(63)));

    // b400 to b499: 100 matches, 4,800 px of them, so the old offset would still fit.
    await page.locator('[data-testid="search"]').fill('b4');
    await expect
      .poll(() => page.locator('[data-testid="breaker-count"]').textContent(), { timeout: 3000 })
      .toBe('100 / 500');
    await page.waitForSelector(rowSelector(nameOf(400)), { timeout: 1000 });
    expect(await viewport.evaluate((element) => element.scrollTop)).toBe(0);

    await page.locator('[data-testid="search"]').fill('');
    await page.waitForSelector(rowSelector(nameOf(0)), { timeout: 1000 });
    await viewport.evaluate((element) => {
      element.scrollTop = 2000;
    });
    await page.waitForSelector(rowSelector(nameOf(42)));
    await page.locator('[data-testid="state-filter"]').selectOption('closed');
    await expect
      .poll(() => page.locator('[data-testid="breaker-count"]').textContent(), { timeout: 3000 })
      .toBe('499 / 500');
    await page.waitForSelector(rowSelector(nameOf(0)), { timeout: 1000 });
    expect(await viewport.evaluate((element) => element.scrollTop)).toBe(0);
    expect(dashboard.problems).toEqual([]);
  });

  it('keeps the keyboard focus on a pressed control and says what it did', async () => {
    const server = await serve({ token: TOKEN });
    for (const name of ['a', 'b', 'c']) server.registry.get(name);
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.locator('[data-testid="token"]').fill(TOKEN);
    const announce = page.locator('[data-testid="announce"]');

    await page.locator(`${rowSelector('b')} [data-action="open"]`).focus();
    const opened = page.waitForResponse((response) => response.url().endsWith('/b/open'));
    await page.keyboard.press('Enter');
    expect((await opened).status()).toBe(200);
    await expect
      .poll(() => announce.textContent(), { timeout: 3000 })
      .toBe('b: force open done, now forced open');
    await page.waitForSelector(`${rowSelector('b')}[data-state="forced_open"]`);
    // Pressing open again would change nothing: the button says so, and keeps the focus.
    const openButton = page.locator(`${rowSelector('b')} [data-action="open"]`);
    expect(await openButton.getAttribute('aria-disabled')).toBe('true');
    expect(await focused(dashboard)).toBe('BUTTON open b');
    const posts = (): number => dashboard.requested.filter((url) => url.endsWith('/b/open')).length;
    const before = posts();
    await page.keyboard.press('Enter');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(posts()).toBe(before);

    await page.keyboard.press('Tab');
    expect(await focused(dashboard)).toBe('BUTTON close b');
    await page.keyboard.press('Tab');
    expect(await focused(dashboard)).toBe('BUTTON reset b');
    const reset = page.waitForResponse((response) => response.url().endsWith('/b/reset'));
    await page.keyboard.press('Enter');
    expect((await reset).status()).toBe(200);
    await expect
      .poll(() => announce.textContent(), { timeout: 3000 })
      .toBe('b: reset done, now closed');
    expect(await focused(dashboard)).toBe('BUTTON reset b');
    expect(server.registry.get('b').state().name).toBe('closed');
    expect(dashboard.problems).toEqual([]);
  });

  it('keeps the rows in the DOM in the order they show, after scrolling either way', async () => {
    const server = await serve();
    const nameOf = (i: number): string => `b${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 500; i++) server.registry.get(nameOf(i));
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.waitForSelector(rowSelector(nameOf(0)));
    // Every render from here on is checked, not only the moments this test reads the rows.
    await watchRowOrder(page);
    const viewport = page.locator('.viewport');
    const height = await viewport.evaluate((element) => element.clientHeight);
    for (const top of [4800, 3600, 4000, 200]) {
      await viewport.evaluate((element, to) => {
        element.scrollTop = to;
      }, top);
      // The scroll event, then the render it schedules: a wait for some row would be met by
      // the rows of the step before when they hold it.
      await nextFrames(page);
      const rows = await shownRows(page);
      const first = rows[0]?.position ?? 0;
      expect(rows.map((row) => row.position)).toEqual(rows.map((_, i) => first + i));
      expect(rows.map((row) => row.name)).toEqual(rows.map((_, i) => nameOf(first - 1 + i)));
      expect(rows.map((row) => row.top)).toEqual(rows.map((_, i) => (first - 1 + i) * 48));
      // And they are the rows of this view, all of it.
      expect(rows[0]?.top).toBeLessThanOrEqual(top);
      expect((rows.at(-1)?.top ?? 0) + 48).toBeGreaterThanOrEqual(top + height);
    }
    expect(await rowOrderBreaks(page)).toEqual([]);
    expect(
      await page.locator('[data-testid="breaker-row"]').first().getAttribute('aria-setsize'),
    ).toBe('500');
    expect(dashboard.problems).toEqual([]);
  });

  it("shows a breaker's call total from the server after a reset()", async () => {
    const server = await serve({ sampleInterval: 200 });
    server.registry.get('before');
    const breaker = server.registry.get('r');
    server.registry.get('after');
    const dashboard = await open(server);
    const meta = dashboard.page.locator(`${rowSelector('r')} .meta`);
    for (let i = 0; i < 10; i++) await breaker.execute(() => 'ok');
    await expect.poll(() => meta.textContent(), { timeout: 3000 }).toContain('· 10 calls');

    breaker.reset();
    for (let i = 0; i < 3; i++) await breaker.execute(() => 'ok');
    expect(breaker.metrics().totalRequests).toBe(3);
    await expect.poll(() => meta.textContent(), { timeout: 3000 }).toContain('· 3 calls');
    // The server tells a reset as the breaker leaving and coming back: its row keeps its place.
    expect(await rowNames(dashboard)).toEqual(['before', 'r', 'after']);
    expect(dashboard.problems).toEqual([]);
  });

  it("draws the server's history length, whenever the page was opened", async () => {
    // 300 samples of 10 ms: the sparklines cover 3 s, with 300 slots, from the start.
    const server = await serve({ sampleInterval: 10, historyLength: 300 });
    server.registry.get('x');
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.waitForSelector(rowSelector('x'));
    expect(await page.locator('.window').first().textContent()).toBe('last 3 s');
    // Half a second in, about 50 of the 300 slots are drawn: the line starts far from the left.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const start = await page
      .locator(`${rowSelector('x')} [data-testid="calls-spark"] .spark-line`)
      .evaluate((line) => Number(/^M([\d.]+)/.exec(line.getAttribute('d') ?? '')?.[1]));
    expect(start).toBeGreaterThan(50);
    expect(dashboard.problems).toEqual([]);
  });
});

const SCANS: ScanStatsView = {
  engines: { clamav: { clean: 4 } },
  decisions: { allow: 4 },
  bytesScanned: 4096,
  scans: { completed: 4, failed: 0 },
};

describe('the dashboard page, kept fresh', { timeout: BROWSER_TEST_TIMEOUT }, () => {
  it('keeps the keyboard focus on a control when a breaker above it leaves the list', async () => {
    const server = await serve({ token: TOKEN, sampleInterval: 200 });
    const nameOf = (i: number): string => `b${String(i).padStart(2, '0')}`;
    for (let i = 0; i < 20; i++) server.registry.get(nameOf(i));
    const dashboard = await open(server);
    const { page } = dashboard;
    await page.locator(`${rowSelector('b10')} [data-action="reset"]`).focus();
    expect(await focused(dashboard)).toBe('BUTTON reset b10');
    server.registry.delete('b00');
    await expect
      .poll(() => page.locator('[data-testid="breaker-count"]').textContent(), { timeout: 5000 })
      .toMatch(/^19\D+19$/);
    await page.waitForSelector(`${rowSelector('b10')}[aria-posinset="10"]`);
    expect(await focused(dashboard)).toBe('BUTTON reset b10');
    // And typing goes on from there.
    await page.keyboard.press('Tab');
    expect(await focused(dashboard)).toBe('BUTTON disable b10');
    expect(dashboard.problems).toEqual([]);
  });

  it('shows a stats source that started failing as unavailable, and its figures once it is back', async () => {
    let broken = false;
    const scans = {
      stats(): ScanStatsView {
        if (broken) throw new Error('the scanner is offline');
        return SCANS;
      },
    };
    const failures: string[] = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (fields, message) => failures.push(`${message}: ${(fields.err as Error).message}`),
    };
    const server = await serve({ scans, logger, sampleInterval: 200 });
    server.registry.get('a');
    const dashboard = await open(server);
    const panel = dashboard.page.locator('[data-testid="scans-panel"]');
    const completed = panel.locator('[data-testid="scans-completed"]');
    const unavailable = panel.locator('[data-testid="panel-unavailable"]');
    await completed.waitFor();
    expect(await completed.textContent()).toBe('4');
    broken = true;
    await unavailable.waitFor({ timeout: 5000 });
    expect(await panel.isVisible()).toBe(true);
    expect(await completed.count()).toBe(0);
    expect(await unavailable.textContent()).toContain('Unavailable');
    broken = false;
    await completed.waitFor({ timeout: 5000 });
    expect(await unavailable.count()).toBe(0);
    expect(failures).toEqual(['dashboard: the scan stats failed: the scanner is offline']);
    expect(dashboard.problems).toEqual([]);
  });

  it("counts down from the server's time of serving, not the shared snapshot's build", async () => {
    const clock = new ManualClock(Date.now());
    const registry = new BreakerRegistry({ clock });
    // A timed open: forceOpen holds it open without a countdown; a failing call opens on time.
    const failing = registry.get('search', { failureThreshold: 1, openDuration: 120_000 });
    await failing.execute(failingCall).catch(() => undefined);
    expect(failing.state().name).toBe('open');
    const server = await serve({ registry, clock, sampleInterval: 600_000 });
    // Someone read the snapshot; 20 s later (no sample, no change) a page opens and shares it.
    expect((await fetch(`${server.url}breakers`)).status).toBe(200);
    clock.advance(20_000);
    const dashboard = await open(server);
    const row = dashboard.page.locator(rowSelector('search'));
    await dashboard.page.waitForSelector(`${rowSelector('search')}[data-state="open"]`);
    // 100 s left (a second or two may pass on the page's own clock), not the build's 120 s.
    await expect
      .poll(() => row.locator('[data-testid="countdown"]').textContent(), { timeout: 3000 })
      .toMatch(/^in 1 m (3[5-9]|40) s$/);
    expect(await row.locator('[data-testid="last-transition"]').textContent()).toContain(
      '20 s ago',
    );
    expect(dashboard.problems).toEqual([]);
    registry.dispose();
  });
});
