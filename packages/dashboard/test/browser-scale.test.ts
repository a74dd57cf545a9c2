import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROWSER_TEST_TIMEOUT,
  type DashboardPage,
  launchBrowser,
  openDashboard,
  rowSelector,
  shownRows,
} from './browser-harness.js';
import { type DashboardServer, startDashboardServer } from './fixture.js';

const BREAKERS = 10_000;
const nameOf = (i: number): string => `tenant-${String(i).padStart(5, '0')}`;
const OPEN = [17, 4_321, 9_998];
const FORCED = [2_500];

let browser: Browser | undefined;
let server: DashboardServer | undefined;
let dashboard: DashboardPage | undefined;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startDashboardServer()]);
  for (let i = 0; i < BREAKERS; i++) server.registry.get(nameOf(i), { failureThreshold: 1 });
  for (const i of OPEN) {
    await server.registry
      .get(nameOf(i))
      .execute(() => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })))
      .catch((error: unknown) => error);
  }
  for (const i of FORCED) server.registry.get(nameOf(i)).forceOpen();
}, BROWSER_TEST_TIMEOUT);

afterAll(async () => {
  await dashboard?.close().catch(() => undefined);
  await server?.close();
  await browser?.close();
}, BROWSER_TEST_TIMEOUT);

function page(): DashboardPage {
  if (dashboard === undefined) throw new Error('the page did not open');
  return dashboard;
}

const rowsInDom = (): Promise<number> => page().page.locator('[data-testid="breaker-row"]').count();

describe('the dashboard page with 10,000 breakers', { timeout: BROWSER_TEST_TIMEOUT }, () => {
  it('renders them all through a bounded number of rows', async () => {
    if (browser === undefined || server === undefined) throw new Error('setup failed');
    // The first render (3 MB of snapshot, parsed twice: fetch, then the stream's) takes its time.
    dashboard = await openDashboard(browser, server.url);
    const { page: tab } = dashboard;
    await tab.waitForSelector(rowSelector(nameOf(0)));
    expect(await tab.locator('[data-testid="breaker-count"]').textContent()).toBe(
      `${BREAKERS} / ${BREAKERS}`,
    );
    expect(await rowsInDom()).toBeGreaterThan(5);
    expect(await rowsInDom()).toBeLessThan(200);
    // The health roll-up counts every breaker, not only those on screen.
    expect(await tab.locator('[data-testid="health"]').getAttribute('data-status')).toBe(
      'degraded',
    );

    // Scrolled to the end, the last breaker is there and the DOM is still bounded.
    await tab.locator('.viewport').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await tab.waitForSelector(rowSelector(nameOf(BREAKERS - 1)));
    expect(await rowsInDom()).toBeLessThan(200);
    expect(await tab.locator(rowSelector(nameOf(0))).count()).toBe(0);
    expect(dashboard.problems).toEqual([]);
  });

  it('answers a search within 500 ms, case-insensitively, by substring', async () => {
    const { page: tab, problems } = page();
    const search = tab.locator('[data-testid="search"]');
    await search.fill('tenant-07777');
    await tab.waitForSelector(rowSelector(nameOf(7777)), { timeout: 500 });
    expect(await tab.locator('[data-testid="breaker-count"]').textContent()).toBe(
      `1 / ${BREAKERS}`,
    );

    await search.fill('TENANT-0123');
    await tab.waitForSelector(rowSelector(nameOf(1239)), { timeout: 500 });
    expect(await tab.locator('[data-testid="breaker-count"]').textContent()).toBe(
      `10 / ${BREAKERS}`,
    );
    const shown = (await shownRows(tab)).map((row) => row.name);
    expect(shown.sort()).toEqual(Array.from({ length: 10 }, (_, i) => nameOf(1230 + i)));

    await search.fill('');
    await tab.waitForSelector(rowSelector(nameOf(0)), { timeout: 500 });
    expect(problems).toEqual([]);
  });

  it('filters by state, with the search, and follows a breaker into and out of the filter', async () => {
    const { page: tab, problems } = page();
    const filter = tab.locator('[data-testid="state-filter"]');
    const count = tab.locator('[data-testid="breaker-count"]');
    const states = async (): Promise<string[]> => (await shownRows(tab)).map((row) => row.state);

    await filter.selectOption('open');
    await expect
      .poll(() => count.textContent(), { timeout: 3000 })
      .toBe(`${OPEN.length} / ${BREAKERS}`);
    await tab.waitForSelector(rowSelector(nameOf(OPEN[0] ?? 0)));
    expect(await states()).toEqual(OPEN.map(() => 'open'));

    await filter.selectOption('forced_open');
    await expect
      .poll(() => count.textContent(), { timeout: 3000 })
      .toBe(`${FORCED.length} / ${BREAKERS}`);
    expect(await states()).toEqual(['forced_open']);

    // A breaker opened on the server joins the filtered list live.
    server?.registry.get(nameOf(42)).forceOpen();
    await tab.waitForSelector(rowSelector(nameOf(42)), { timeout: 2000 });
    expect(await count.textContent()).toBe(`${FORCED.length + 1} / ${BREAKERS}`);
    server?.registry.get(nameOf(42)).reset();
    await tab.locator(rowSelector(nameOf(42))).waitFor({ state: 'detached', timeout: 2000 });

    await filter.selectOption('closed');
    await tab.locator('[data-testid="search"]').fill('tenant-0001');
    await expect.poll(() => count.textContent(), { timeout: 3000 }).toBe(`9 / ${BREAKERS}`);
    expect(await tab.locator(rowSelector(nameOf(17))).count()).toBe(0);
    expect(new Set(await states())).toEqual(new Set(['closed']));

    await filter.selectOption('all');
    await expect.poll(() => count.textContent(), { timeout: 3000 }).toBe(`10 / ${BREAKERS}`);
    expect(problems).toEqual([]);
  });
});
