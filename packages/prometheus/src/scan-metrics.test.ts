import { ManualClock } from '@breakwater/core';
import { FileInput, MockScanner, ScanManager } from '@breakwater/scanbridge';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { samplesOf, sampleValue } from '../test/samples.js';
import { collectScanMetrics } from './scan-metrics.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const file = (content: string) =>
  FileInput.fromBytes(new TextEncoder().encode(content), 'notes.txt');

/** Lets a scan reach its engines' timers, moves the clock `ms`, and waits for the scan. */
async function scanned<T>(clock: ManualClock, scan: Promise<T>, ms: number): Promise<T> {
  for (let i = 0; i < 10; i++) await tick();
  clock.advance(ms);
  return scan;
}

function setup() {
  const clock = new ManualClock(0);
  const unavailable = MockScanner.clean().withName('flaky');
  const manager = ScanManager.builder()
    .addScanner(MockScanner.clean().withName('fast').withLatency(40).withClock(clock))
    .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('strict'))
    .addScanner(unavailable)
    .withConfig({ clock })
    .build();
  return { clock, manager, unavailable, register: new Registry() };
}

describe('collectScanMetrics', () => {
  it("exports each engine's verdicts at 0 before any scan, so increase() sees the first infected file", async () => {
    const { register, manager } = setup();
    collectScanMetrics(manager, { register });
    const scans = await samplesOf(register, 'scanbridge_scans_total');
    expect(scans).toHaveLength(3 * 4);
    for (const engine of ['fast', 'strict', 'flaky']) {
      for (const outcome of ['clean', 'infected', 'suspicious', 'error'])
        expect(sampleValue(scans, { engine, outcome }), `${engine} ${outcome}`).toBe(0);
    }
  });

  it("exports the manager's engine runs, decisions, bytes and scan durations", async () => {
    const { clock, manager, unavailable, register } = setup();
    collectScanMetrics(manager, { register, buckets: [0.01, 0.05] });
    const first = await scanned(clock, manager.scanWithPolicy(file('hello')), 40);
    expect(first.decision.action.type).toBe('block');
    unavailable.makeUnhealthy();
    await scanned(clock, manager.scanWithPolicy(file('hello, again')), 40);

    const scans = await samplesOf(register, 'scanbridge_scans_total');
    const runs = (engine: string, outcome: string) => sampleValue(scans, { engine, outcome });
    const { engines, decisions, bytesScanned } = manager.stats();
    expect(engines.flaky).toEqual({ clean: 1, engine_unavailable: 1 });
    // Each engine's four verdicts (at 0 until they happen) and the failure it had.
    expect(scans).toHaveLength(3 * 4 + 1);
    expect([runs('fast', 'infected'), runs('strict', 'clean')]).toEqual([0, 0]);
    expect([runs('fast', 'clean'), runs('strict', 'infected')]).toEqual([2, 2]);
    expect([runs('flaky', 'clean'), runs('flaky', 'engine_unavailable')]).toEqual([1, 1]);

    const decided = await samplesOf(register, 'scanbridge_decisions_total');
    expect(decided).toHaveLength(5);
    expect(sampleValue(decided, { action: 'block' })).toBe(2);
    expect(sampleValue(decided, { action: 'allow' })).toBe(0);
    expect(decisions.block).toBe(2);

    expect(await samplesOf(register, 'scanbridge_bytes_scanned_total')).toEqual([
      { labels: {}, value: 5 + 12 },
    ]);
    expect(bytesScanned).toBe(17);

    const durations = await samplesOf(register, 'scanbridge_scan_duration_seconds');
    const bucket = (engine: string, le: number | string) =>
      sampleValue(durations, { engine, le }, 'scanbridge_scan_duration_seconds_bucket');
    expect([0.01, 0.05, '+Inf'].map((le) => bucket('fast', le))).toEqual([0, 2, 2]);
    expect(
      sampleValue(durations, { engine: 'fast' }, 'scanbridge_scan_duration_seconds_sum'),
    ).toBeCloseTo(0.08);
    expect([0.01, 0.05, '+Inf'].map((le) => bucket('strict', le))).toEqual([2, 2, 2]);
    expect(
      sampleValue(durations, { engine: 'flaky' }, 'scanbridge_scan_duration_seconds_count'),
    ).toBe(2);
  });

  it('close() removes its metrics and stops listening to engine runs', async () => {
    const { clock, manager, register } = setup();
    const collector = collectScanMetrics(manager, { register, prefix: 'edge_' });
    expect(register.getMetricsAsArray().map((m) => m.name)).toEqual([
      'edge_scanbridge_scans_total',
      'edge_scanbridge_scan_duration_seconds',
      'edge_scanbridge_decisions_total',
      'edge_scanbridge_bytes_scanned_total',
    ]);
    const histogram = register.getSingleMetric('edge_scanbridge_scan_duration_seconds');
    await scanned(clock, manager.scan(file('one')), 40);
    collector.close();
    expect(register.getMetricsAsArray()).toEqual([]);
    await scanned(clock, manager.scan(file('two')), 40);
    const values = (await histogram?.get())?.values ?? [];
    const count = sampleValue(
      values,
      { engine: 'fast' },
      'edge_scanbridge_scan_duration_seconds_count',
    );
    expect(count).toBe(1);
  });

  it('checks its options and the manager', () => {
    const { manager, register } = setup();
    expect(() => collectScanMetrics(manager, { register, prefix: '' })).not.toThrow();
    expect(() => collectScanMetrics(manager, { register })).toThrow(
      /collectScanMetrics: the register already has a metric called "scanbridge_scans_total"/,
    );
    expect(() => collectScanMetrics(manager, { register: new Registry(), prefix: 'a b' })).toThrow(
      /option "prefix" must be the start of a metric name/,
    );
    expect(() => collectScanMetrics(undefined as never)).toThrow(
      /collectScanMetrics: the manager must have a stats\(\) method, got undefined/,
    );
  });
});
