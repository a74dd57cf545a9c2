import { BreakerRegistry, type Logger, ManualClock } from '@breakwater/core';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScanStatsView } from '../src/sources.js';
import {
  BROWSER_TEST_TIMEOUT,
  type DashboardPage,
  launchBrowser,
  openDashboard,
  rowSelector,
} from './browser-harness.js';
import { type DashboardServer, failingCall, startDashboardServer } from './fixture.js';

const TOKEN = 'operator-token-for-the-fresh-tests';

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

async function open(on: DashboardServer): Promise<DashboardPage> {
  if (browser === undefined) throw new Error('the browser did not start');
  const page = await openDashboard(browser, on.url);
  opened.push(page);
  return page;
}

/** The focused element as "TAG action row-name". */
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
