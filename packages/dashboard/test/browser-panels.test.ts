import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthorizationService, SpiceDbChecker } from '@breakwater/authz';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { BreakerRegistry, type CircuitBreaker } from '@breakwater/core';
import {
  FileInput,
  MockScanner,
  type ScanManager,
  ScanManager as ScanManagerClass,
  withCircuitBreaker,
} from '@breakwater/scanbridge';
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

const SCHEMA = `definition user {}

definition document {
  relation owner: user
  relation reader: user
  permission read = reader + owner
}
`;
const RELATIONSHIPS = ['document:plan#owner@user:alice', 'document:plan#reader@user:bob'];
const INFECTED = Buffer.from('a file the mock engine calls infected');
const SCREENSHOT = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));
// Short intervals so a few seconds of traffic draw full sparklines.
const SAMPLE_MS = 100;

let browser: Browser | undefined;
let spicedb: EmbeddedSpiceDb | undefined;
let checker: SpiceDbChecker | undefined;
let authz: AuthorizationService | undefined;
let manager: ScanManager | undefined;
let server: DashboardServer | undefined;
const registry = new BreakerRegistry();
const pages: DashboardPage[] = [];

beforeAll(async () => {
  [browser, spicedb] = await Promise.all([
    launchBrowser(),
    startEmbeddedSpiceDb({ schema: SCHEMA, relationships: RELATIONSHIPS }),
  ]);
  checker = new SpiceDbChecker({
    endpoint: spicedb.endpoint,
    token: spicedb.token,
    insecure: true,
  });
  authz = new AuthorizationService({ checker, registry, criticality: 'critical' });
  const sha256 = createHash('sha256').update(INFECTED).digest('hex');
  const clamav = withCircuitBreaker(
    MockScanner.clean()
      .withName('clamav')
      .withResponse(sha256, {
        type: 'infected',
        threats: [{ name: 'Test.Infected', severity: 'high', engine: 'clamav' }],
      }),
  );
  const yara = withCircuitBreaker(MockScanner.clean().withName('yara').withFailRate(0.5), {
    failureThreshold: 1_000,
  });
  registry.register('clamav', clamav.breaker, { criticality: 'critical' });
  registry.register('yara', yara.breaker, { criticality: 'warning' });
  manager = ScanManagerClass.builder().addScanner(clamav).addScanner(yara).build();
  server = await startDashboardServer({
    registry,
    authorization: authz,
    scans: manager,
    token: 'screenshot-token',
    sampleInterval: SAMPLE_MS,
  });
}, BROWSER_TEST_TIMEOUT);

afterAll(async () => {
  await Promise.allSettled(pages.map((page) => page.close()));
  await server?.close();
  authz?.close();
  checker?.close();
  await spicedb?.close();
  registry.dispose();
  await browser?.close();
}, BROWSER_TEST_TIMEOUT);

function services(): {
  authz: AuthorizationService;
  manager: ScanManager;
  server: DashboardServer;
} {
  if (authz === undefined || manager === undefined || server === undefined) {
    throw new Error('the services did not start');
  }
  return { authz, manager, server };
}

async function open(options: { colorScheme?: 'light' | 'dark' } = {}): Promise<DashboardPage> {
  if (browser === undefined) throw new Error('the browser did not start');
  const page = await openDashboard(browser, services().server.url, options);
  pages.push(page);
  return page;
}

async function authorizationTraffic(service: AuthorizationService, rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await service.check({ subject: 'user:alice', resource: 'document:plan', permission: 'read' });
    await service.check({ subject: 'user:bob', resource: 'document:plan', permission: 'read' });
    await service.check({ subject: 'user:dave', resource: 'document:plan', permission: 'read' });
  }
}

async function scanTraffic(scans: ScanManager, files: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const bytes = i % 5 === 4 ? INFECTED : Buffer.from(`upload number ${i}`);
    await scans
      .scanWithPolicy(FileInput.fromBytes(bytes, `upload-${i}.txt`))
      .catch(() => undefined);
  }
}

const REFUSED = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
  code: 'ECONNREFUSED',
});

/** A wave of calls through `breaker`, its size and failures set by the step and the breaker. */
async function burst(breaker: CircuitBreaker<unknown>, step: number, k: number): Promise<void> {
  const calls = Math.round(4 + 3 * Math.sin(step / (4 + k)) + k);
  for (let c = 0; c < calls; c++) {
    const failing = (step * 7 + c) % (11 + k * 6) === 0;
    await breaker.execute(() => (failing ? Promise.reject(REFUSED) : 'ok')).catch(() => undefined);
  }
}

const panelText = (dashboard: DashboardPage, testId: string): Promise<string | null> =>
  dashboard.page.locator(`[data-testid="${testId}"]`).textContent();

describe('the authorization and scans panels, and the screenshot', {
  timeout: BROWSER_TEST_TIMEOUT,
}, () => {
  it('shows a real AuthorizationService and ScanManager, and follows them live', async () => {
    const { authz: service, manager: scans } = services();
    await authorizationTraffic(service);
    await scanTraffic(scans, 5);
    const dashboard = await open();
    const { page, problems } = dashboard;
    await page.locator('[data-testid="authorization-panel"]').waitFor();
    await page.locator('[data-testid="scans-panel"]').waitFor();

    const stats = service.stats();
    const checks = Object.values(stats.checks).reduce((n, c) => n + c.allowed + c.denied, 0);
    expect(checks).toBe(15);
    await expect
      .poll(() => panelText(dashboard, 'authz-checks'), { timeout: 3000 })
      .toBe(String(checks));
    const hitRate = stats.cache?.hitRate ?? Number.NaN;
    expect(hitRate).toBeGreaterThan(0);
    expect(await panelText(dashboard, 'authz-hit-rate')).toBe(`${(hitRate * 100).toFixed(1)}%`);
    const authzPanel = page.locator('[data-testid="authorization-panel"]');
    expect(await authzPanel.textContent()).toContain(`breaker ${service.breaker.name}`);
    // The by-source table: SpiceDB's row says what SpiceDB decided.
    const spicedbRow = authzPanel.locator('tr', { hasText: 'spicedb' });
    expect(await spicedbRow.locator('td').allTextContents()).toEqual([
      String(stats.checks.spicedb.allowed),
      String(stats.checks.spicedb.denied),
    ]);

    const scanStats = scans.stats();
    expect(await panelText(dashboard, 'scans-completed')).toBe(String(scanStats.scans.completed));
    const clamavRow = page.locator('[data-testid="scans-panel"] tr', { hasText: 'clamav' });
    expect(await clamavRow.textContent()).toContain(String(scanStats.engines.clamav?.infected));
    expect(scanStats.engines.clamav?.infected).toBe(1);

    // More traffic on the server shows up on the next stats event, without a reload.
    await scanTraffic(scans, 5);
    await expect
      .poll(() => panelText(dashboard, 'scans-completed'), { timeout: 2000 })
      .toBe(String(scans.stats().scans.completed));
    expect(scans.stats().scans.completed).toBe(10);
    // The services' breakers are rows like any other.
    await page.waitForSelector(rowSelector(service.breaker.name));
    await page.waitForSelector(rowSelector('clamav'));
    expect(problems).toEqual([]);
  });

  it('writes a screenshot of a mix of states with live sparklines', async () => {
    const { authz: service, manager: scans, server: dashboardServer } = services();
    const busy: Record<string, CircuitBreaker<unknown>> = {
      'payments-api': registry.get('payments-api'),
      'inventory.eu-west': registry.get('inventory.eu-west'),
      'search-index': registry.get('search-index'),
    };
    const geo = registry.get('geo-lookup', { failureThreshold: 3, openDuration: 45_000 });
    const mail = registry.get('mail-relay', { failureThreshold: 1, openDuration: 300 });
    registry.get('legacy-billing', {}).forceOpen();
    registry.get('recommendations').disable();

    // Uneven traffic, some of it failing, drawn at SAMPLE_MS a point: a few seconds of it
    // before the page opens, and on until the picture is taken, so the sparklines run live.
    let traffic = true;
    const flowing = (async () => {
      for (let step = 0; traffic; step++) {
        await Promise.all([
          ...Object.values(busy).map((breaker, k) => burst(breaker, step, k)),
          step % 2 === 0 ? authorizationTraffic(service, 1) : undefined,
          step % 2 === 1 ? scanTraffic(scans, 1) : undefined,
        ]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    for (let i = 0; i < 3; i++) {
      await geo.execute(() => Promise.reject(REFUSED)).catch(() => undefined);
    }
    // Callers keep coming while it is open: the picture shows them refused.
    for (let i = 0; i < 4; i++) await geo.execute(() => 'ok').catch(() => undefined);
    expect(geo.metrics().rejectedRequests).toBe(4);
    await mail.execute(() => Promise.reject(REFUSED)).catch(() => undefined);
    await expect.poll(() => mail.state().name, { timeout: 2000 }).toBe('half_open');

    // The operations look: dark, as a wall screen would show it (the page follows the system).
    const dashboard = await open({ colorScheme: 'dark' });
    const { page, problems } = dashboard;
    const background = await page
      .locator('body')
      .evaluate(
        (body) => (globalThis as unknown as PageWindow).getComputedStyle(body).backgroundColor,
      );
    expect(Math.max(...rgbOf(background))).toBeLessThan(40);
    for (const [name, state] of [
      ['geo-lookup', 'open'],
      ['mail-relay', 'half_open'],
      ['legacy-billing', 'forced_open'],
      ['recommendations', 'disabled'],
      ['payments-api', 'closed'],
    ] as const) {
      await page.waitForSelector(`${rowSelector(name)}[data-state="${state}"]`);
    }
    expect(
      await page.locator(`${rowSelector('geo-lookup')} [data-testid="countdown"]`).textContent(),
    ).toMatch(/^in \d+ s$/);
    expect(
      await page.locator(`${rowSelector('geo-lookup')} [data-testid="rejections"]`).textContent(),
    ).toBe('4');
    // The column heads say the span the sparklines cover here: 60 samples of SAMPLE_MS.
    expect(await page.locator('.window').first().textContent()).toBe('last 6 s');
    // A sparkline with traffic is not a flat line: its points sit at different heights.
    const heights = await page
      .locator(`${rowSelector('payments-api')} [data-testid="calls-spark"] .spark-line`)
      .evaluate((line) => new Set((line.getAttribute('d') ?? '').match(/ \d+(\.\d+)?/g)).size);
    expect(heights).toBeGreaterThan(3);
    expect(dashboardServer.registry.size).toBe(registry.size);

    const picture = await page.screenshot({ path: join(tmpdir(), 'breakwater-dashboard.png') });
    traffic = false;
    await flowing;
    expect(picture.subarray(1, 4).toString('latin1')).toBe('PNG');
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      expect((await readFile(SCREENSHOT)).subarray(1, 4).toString('latin1')).toBe('PNG');
    }
    expect(problems).toEqual([]);
  });
});
