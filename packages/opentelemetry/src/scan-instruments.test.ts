import { ManualClock } from '@breakwater/core';
import { FileInput, MockScanner, ScanManager } from '@breakwater/scanbridge';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { MeterHarness } from '../test/metric-reader.js';
import { DURATION_BUCKETS, type Instrumentation } from './meter.js';
import { instrumentScans } from './scan-instruments.js';

const SCANS = 'scanbridge.scans';
const DECISIONS = 'scanbridge.decisions';
const BYTES = 'scanbridge.bytes_scanned';
const DURATION = 'scanbridge.scan.duration';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const file = (content: string, name = 'notes.txt') =>
  FileInput.fromBytes(new TextEncoder().encode(content), name);

let harness: MeterHarness | undefined;
let handle: Instrumentation | undefined;

afterEach(async () => {
  handle?.close();
  await harness?.shutdown();
  handle = harness = undefined;
});

/** Three engines on a ManualClock: one clean after 40 ms, one that finds a threat, one down. */
function setUp(temporality?: AggregationTemporality) {
  const clock = new ManualClock(1_000_000);
  const down = MockScanner.clean().withName('down');
  down.makeUnhealthy();
  const manager = ScanManager.builder()
    .addScanner(MockScanner.clean().withName('quick').withLatency(40).withClock(clock))
    .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('sig'))
    .addScanner(down)
    .withConfig({ clock })
    .build();
  harness = new MeterHarness(temporality);
  return { clock, manager, harness, meter: harness.meter };
}

/** Runs `scan` to the end, moving the clock on while the engines wait on it. */
async function settle<T>(clock: ManualClock, scan: Promise<T>): Promise<T> {
  let done = false;
  const result = scan.finally(() => {
    done = true;
  });
  while (!done) {
    for (let i = 0; i < 5; i++) await tick();
    clock.advance(10);
  }
  return result;
}

describe('instrumentScans', () => {
  it('reports engine runs by outcome, decisions by action, bytes and run durations by engine', async () => {
    const { clock, manager, harness, meter } = setUp();
    handle = instrumentScans(manager, { meter });
    await settle(clock, manager.scanWithPolicy(file('twelve bytes')));
    await settle(clock, manager.scanWithPolicy(file('eight by')));
    await settle(clock, manager.scan(file('four')));

    const collected = await harness.collect();
    const scans = collected.keyed(SCANS, 'scanbridge.engine', 'scanbridge.outcome');
    const none = { clean: 0, infected: 0, suspicious: 0, error: 0 };
    const byEngine = (engine: string, counts: Record<string, number>) =>
      Object.fromEntries(
        Object.entries({ ...none, ...counts }).map(([outcome, n]) => [`${engine}/${outcome}`, n]),
      );
    expect(scans).toEqual({
      ...byEngine('quick', { clean: 3 }),
      ...byEngine('sig', { infected: 3 }),
      ...byEngine('down', { engine_unavailable: 3 }),
    });
    const stats = manager.stats();
    for (const [engine, outcomes] of Object.entries(stats.engines)) {
      for (const [outcome, count] of Object.entries(outcomes)) {
        expect(scans[`${engine}/${outcome}`]).toBe(count);
      }
    }
    expect(collected.metric(SCANS)).toMatchObject({
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
    });

    const decisions = collected.keyed(DECISIONS, 'scanbridge.action');
    expect(decisions).toEqual(stats.decisions);
    expect(Object.values(decisions).reduce((a, b) => a + b, 0)).toBe(2);

    expect(collected.points(BYTES)).toEqual([{ attributes: {}, value: 12 + 8 + 4 }]);
    expect(collected.metric(BYTES)?.descriptor.unit).toBe('By');

    const durations = collected.keyedHistograms(DURATION, 'scanbridge.engine');
    expect(Object.keys(durations).sort()).toEqual(['down', 'quick', 'sig']);
    expect(durations.quick).toMatchObject({ count: 3, min: 0.04, max: 0.04 });
    expect(durations.quick?.sum).toBeCloseTo(0.12, 10);
    expect(durations.down).toMatchObject({ count: 3, sum: 0 });
    expect(durations.quick?.buckets.boundaries).toEqual(DURATION_BUCKETS);
    expect(collected.metric(DURATION)?.descriptor.unit).toBe('s');
  });

  it("reports each engine's verdicts at 0 before it has run, so the first infected file is an increase", async () => {
    const { clock, manager, harness, meter } = setUp(AggregationTemporality.DELTA);
    handle = instrumentScans(manager, { meter });
    const before = await harness.collect();
    expect(before.keyed(SCANS, 'scanbridge.engine', 'scanbridge.outcome')).toEqual(
      Object.fromEntries(
        ['quick', 'sig', 'down'].flatMap((engine) =>
          ['clean', 'infected', 'suspicious', 'error'].map((verdict) => [
            `${engine}/${verdict}`,
            0,
          ]),
        ),
      ),
    );
    expect(before.points(BYTES)).toEqual([{ attributes: {}, value: 0 }]);
    expect(before.keyed(DECISIONS, 'scanbridge.action')).toEqual({
      allow: 0,
      allow_with_warning: 0,
      quarantine: 0,
      block: 0,
      require_review: 0,
    });

    await settle(clock, manager.scan(file('data')));
    // Delta: what happened between the two collections, the first infected file included.
    const after = await harness.collect();
    const sig = { 'scanbridge.engine': 'sig' };
    expect(after.value(SCANS, { ...sig, 'scanbridge.outcome': 'infected' })).toBe(1);
    expect(after.value(SCANS, { ...sig, 'scanbridge.outcome': 'clean' })).toBe(0);
    // A failure kind appears once it has happened, and only for the engine it happened to.
    const down = { 'scanbridge.engine': 'down', 'scanbridge.outcome': 'engine_unavailable' };
    expect(before.value(SCANS, down)).toBeUndefined();
    expect(after.value(SCANS, down)).toBe(1);
    expect(
      after.value(SCANS, { ...sig, 'scanbridge.outcome': 'engine_unavailable' }),
    ).toBeUndefined();
  });

  it('stops on close(): no more points, and its engineScan listener is gone', async () => {
    const { clock, manager, harness, meter } = setUp(AggregationTemporality.DELTA);
    handle = instrumentScans(manager, { meter });
    await settle(clock, manager.scan(file('data')));
    expect((await harness.collect()).names()).toEqual([SCANS, DECISIONS, BYTES, DURATION]);

    handle.close();
    handle.close();
    await settle(clock, manager.scan(file('more data')));
    expect((await harness.collect()).names()).toEqual([]);
  });

  it('refuses what it cannot use, naming the option', () => {
    const { manager, meter } = setUp();
    expect(() => instrumentScans(manager, { meter, buckets: [1] } as never)).toThrow(
      'instrumentScans: unknown option "buckets"; known options are meter',
    );
    expect(() => instrumentScans(manager, { meter: null as never })).toThrow(
      'instrumentScans: option "meter" must be an OpenTelemetry Meter (from meterProvider.getMeter(name)), got null',
    );
    expect(() => instrumentScans(undefined as never, { meter })).toThrow(
      'instrumentScans: needs a ScanManager (with stats() and on()), got undefined',
    );
  });
});
