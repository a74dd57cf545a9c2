import { BreakerRegistry, CircuitBreaker, FallbackBehavior, ManualClock } from '@breakwater/core';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AUTOMATIC_AT_0,
  CALLS,
  DURATION,
  fail,
  HEALTH,
  refused,
  registryOnClock,
  STATE,
  states,
  succeed,
  TRANSITIONS,
} from '../test/breakers.js';
import { CapturingLogger } from '../test/capturing-logger.js';
import { Collection, MeterHarness } from '../test/metric-reader.js';
import { instrumentBreakers } from './breaker-instruments.js';
import { DURATION_BUCKETS, type Instrumentation } from './meter.js';

const FAILURE_RATE = 'breakwater.failure_rate';
const SLOW_CALL_RATE = 'breakwater.slow_call_rate';

class NotFound extends Error {}

let harness: MeterHarness | undefined;
let handle: Instrumentation | undefined;

function setUp(temporality?: AggregationTemporality, views?: ViewOptions[]): MeterHarness {
  harness = new MeterHarness(temporality, views);
  return harness;
}

afterEach(async () => {
  handle?.close();
  handle = undefined;
  await harness?.shutdown();
  harness = undefined;
});

describe('instrumentBreakers', () => {
  it('reports 1 for each breaker state and 0 for the other four, forced_open and disabled included', async () => {
    const { clock, registry } = registryOnClock();
    const h = setUp();
    const { meter } = h;
    registry.get('idle');
    await fail(registry.get('probing'));
    clock.advance(1_000);
    await fail(registry.get('tripped'));
    registry.get('held').forceOpen();
    registry.get('off').disable();
    handle = instrumentBreakers(registry, { meter });

    const collected = await h.collect();
    expect(collected.byBreaker(STATE, 'idle')).toEqual(states({ closed: 1 }));
    expect(collected.byBreaker(STATE, 'tripped')).toEqual(states({ open: 1 }));
    expect(collected.byBreaker(STATE, 'probing')).toEqual(states({ half_open: 1 }));
    expect(collected.byBreaker(STATE, 'held')).toEqual(states({ forced_open: 1 }));
    expect(collected.byBreaker(STATE, 'off')).toEqual(states({ disabled: 1 }));
    // And _other, from the first collection, counting no breaker yet.
    expect(collected.byBreaker(STATE, '_other')).toEqual(states({}));
    expect(collected.points(STATE)).toHaveLength(30);
    expect(collected.metric(STATE)?.dataPointType).toBe(DataPointType.GAUGE);
  });

  it('counts calls by outcome as the breaker does, in one registry walk per collection', async () => {
    const clock = new ManualClock(1_000_000);
    const registry = new BreakerRegistry({ clock });
    const h = setUp();
    const { meter } = h;
    const breaker = new CircuitBreaker<unknown>({
      name: 'payments',
      clock,
      failureThreshold: 3,
      timeout: 100,
      failurePolicy: (error) => !(error instanceof NotFound),
      fallback: FallbackBehavior.fallback(() => 'cached'),
    });
    registry.register('payments', breaker);
    handle = instrumentBreakers(registry, { meter });
    for (let i = 0; i < 4; i++) await succeed(breaker);
    await fail(breaker);
    await fail(breaker, new NotFound('no such invoice'));
    const hung = breaker.execute(() => new Promise<never>(() => {}));
    clock.advance(100);
    await expect(hung).rejects.toMatchObject({ code: 'BREAKWATER_TIMEOUT' });
    await fail(breaker);
    // Three counted failures (one of them the timeout): open, so these two get the fallback.
    await expect(breaker.execute(async () => 'live')).resolves.toBe('cached');
    await expect(breaker.execute(async () => 'live')).resolves.toBe('cached');
    const walks = vi.spyOn(registry, 'forEach');

    const collected = await h.collect();
    const expected = {
      success: 4,
      failure: 3,
      ignored: 1,
      rejected: 2,
      timeout: 1,
      fallback: 2,
    };
    expect(collected.byBreaker(CALLS, 'payments')).toEqual(expected);
    const metrics = breaker.metrics();
    expect(expected).toEqual({
      success: metrics.successfulRequests,
      failure: metrics.failedRequests,
      ignored: metrics.ignoredErrors,
      rejected: metrics.rejectedRequests,
      timeout: metrics.timeouts,
      fallback: metrics.fallbacks,
    });
    expect(collected.metric(CALLS)).toMatchObject({
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
    });
    expect(walks).toHaveBeenCalledTimes(1);
  });

  it('counts a whole open period that began and ended between two collections', async () => {
    const { clock, registry } = registryOnClock();
    const h = setUp();
    const { meter } = h;
    const breaker = registry.get('flaky');
    handle = instrumentBreakers(registry, { meter });
    const before = await h.collect();
    // The four pairs a breaker moves through on its own are there from the start, at 0, so the
    // first opening is an increase of the same series (a series born at 1 is no increase).
    expect(before.byBreaker(TRANSITIONS, 'flaky')).toEqual(AUTOMATIC_AT_0);

    await fail(breaker);
    clock.advance(1_000);
    await succeed(breaker);

    const after = await h.collect();
    expect(after.byBreaker(STATE, 'flaky')).toEqual(states({ closed: 1 }));
    // The operators' pairs (disable, forceOpen, ...) only once they happen.
    expect(after.byBreaker(TRANSITIONS, 'flaky')).toEqual({
      ...AUTOMATIC_AT_0,
      'closed>open': 1,
      'open>half_open': 1,
      'half_open>closed': 1,
    });
    const startOf = (collected: Collection) =>
      collected.pointsWithTimes(TRANSITIONS).find((p) => p.attributes['breakwater.to'] === 'open')
        ?.startTime;
    expect(startOf(after)).toEqual(startOf(before));
  });

  it('reports the rates only once the window holds minimumCalls, never -1', async () => {
    const { clock, registry } = registryOnClock({ failureThreshold: 100 });
    const h = setUp();
    const { meter } = h;
    const windowed = registry.get('windowed', {
      window: { type: 'count', size: 10, minimumCalls: 5, slowCallDuration: 50 },
    });
    registry.get('plain');
    handle = instrumentBreakers(registry, { meter });
    await succeed(windowed, clock, 60);
    await fail(windowed);
    await succeed(windowed);
    await fail(windowed);
    expect(windowed.metrics().failureRate).toBe(-1);

    const below = await h.collect();
    expect(below.points(FAILURE_RATE)).toEqual([]);
    expect(below.points(SLOW_CALL_RATE)).toEqual([]);

    await succeed(windowed);
    const reached = await h.collect();
    expect(reached.points(FAILURE_RATE)).toEqual([
      { attributes: { 'breakwater.breaker': 'windowed' }, value: 0.4 },
    ]);
    expect(reached.points(SLOW_CALL_RATE)).toEqual([
      { attributes: { 'breakwater.breaker': 'windowed' }, value: 0.2 },
    ]);
  });

  it("rolls the registry's health up as 0 healthy, 1 warning, 2 degraded, 3 critical", async () => {
    const clock = new ManualClock(1_000_000);
    const registry = new BreakerRegistry({ clock });
    const h = setUp();
    const { meter } = h;
    const options = { clock, failureThreshold: 1, openDuration: 1_000 };
    const make = (name: string, criticality: 'warning' | 'degraded' | 'critical') => {
      const breaker = new CircuitBreaker({ ...options, name });
      registry.register(name, breaker, { criticality });
      return breaker;
    };
    const cache = make('cache', 'warning');
    const search = make('search', 'degraded');
    const database = make('database', 'critical');
    handle = instrumentBreakers(registry, { meter });
    const rank = { healthy: 0, warning: 1, degraded: 2, critical: 3 } as const;
    const seen: number[] = [];
    const collectHealth = async () => {
      const value = (await h.collect()).value(HEALTH);
      expect(value).toBe(rank[registry.health().status]);
      seen.push(value as number);
    };

    await collectHealth();
    cache.forceOpen();
    await collectHealth();
    cache.forceClose();
    search.disable();
    await collectHealth();
    search.forceClose();
    await fail(search);
    await collectHealth();
    await fail(database);
    await collectHealth();
    database.forceClose();
    search.forceClose();
    await fail(cache);
    clock.advance(1_000);
    await collectHealth();
    expect(seen).toEqual([0, 1, 1, 2, 3, 1]);
    expect(cache.state().name).toBe('half_open');
  });

  it('exports _other from the first collection, at 0, so its first opening is an increase', async () => {
    const { registry } = registryOnClock();
    const h = setUp(AggregationTemporality.DELTA);
    const logger = new CapturingLogger();
    registry.get('named');
    handle = instrumentBreakers(registry, { meter: h.meter, maxBreakers: 1, logger });
    const first = await h.collect();
    expect(first.byBreaker(TRANSITIONS, '_other')).toEqual(AUTOMATIC_AT_0);
    expect(first.byBreaker(STATE, '_other')).toEqual(states({}));
    expect(first.byBreaker(CALLS, '_other')).toMatchObject({ success: 0, failure: 0 });
    // A per-key breaker past maxBreakers that opens before any collection saw it.
    await fail(registry.get('tenant'));
    const second = await h.collect();
    expect(second.byBreaker(TRANSITIONS, '_other')).toEqual({
      ...AUTOMATIC_AT_0,
      'closed>open': 1,
    });
    expect(second.byBreaker(STATE, '_other')).toEqual(states({ open: 1 }));
    expect(logger.entries.map((e) => e.fields)).toEqual([
      { breakers: 2, overflow: 1, maxBreakers: 1 },
    ]);
  });

  it('sums the breakers past maxBreakers under _other and warns once', async () => {
    const { registry } = registryOnClock();
    const h = setUp();
    const { meter } = h;
    const logger = new CapturingLogger();
    for (const name of ['a', 'b', 'c', 'd', 'e']) registry.get(name);
    await succeed(registry.get('a'));
    await succeed(registry.get('c'));
    await succeed(registry.get('c'));
    await fail(registry.get('d'));
    await succeed(registry.get('e'));
    registry.get('e').forceOpen();
    await expect(registry.get('e').execute(async () => 'x')).rejects.toMatchObject({
      code: 'BREAKWATER_CIRCUIT_OPEN',
    });
    handle = instrumentBreakers(registry, { meter, maxBreakers: 2, logger });

    const collected = await h.collect();
    const breakers = new Set(
      collected.points(STATE).map((p) => p.attributes['breakwater.breaker']),
    );
    expect(breakers).toEqual(new Set(['a', 'b', '_other']));
    expect(collected.byBreaker(STATE, '_other')).toEqual(
      states({ closed: 1, open: 1, forced_open: 1 }),
    );
    expect(collected.byBreaker(CALLS, '_other')).toEqual({
      success: 3,
      failure: 1,
      ignored: 0,
      rejected: 1,
      timeout: 0,
      fallback: 0,
    });
    expect(collected.byBreaker(CALLS, 'a')).toMatchObject({ success: 1 });
    expect(collected.byBreaker(TRANSITIONS, '_other')).toEqual({
      ...AUTOMATIC_AT_0,
      'closed>open': 2,
    });

    await h.collect();
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        fields: { breakers: 5, overflow: 3, maxBreakers: 2 },
        message: expect.stringContaining('while maxBreakers (2) breakers had series of their own'),
      },
    ]);
  });

  it("exports all of the default 1000 breakers apart with the README's view", async () => {
    const { registry } = registryOnClock();
    // The SDK keeps 2000 attribute sets per instrument by default: 400 breakers' states.
    const h = setUp(AggregationTemporality.CUMULATIVE, [
      { instrumentName: 'breakwater.*', aggregationCardinalityLimit: 20_000 },
    ]);
    const logger = new CapturingLogger();
    for (let i = 0; i < 1000; i++) registry.get(`tenant-${i}`);
    await fail(registry.get('tenant-999'));
    handle = instrumentBreakers(registry, { meter: h.meter, logger });

    const collected = await h.collect();
    const points = collected.points(STATE);
    // 1000 breakers and _other, which counts none of them.
    expect(points).toHaveLength(5005);
    expect(points.filter((p) => p.value === 1)).toHaveLength(1000);
    expect(points.some((p) => 'otel.metric.overflow' in p.attributes)).toBe(false);
    expect(collected.points(CALLS)).toHaveLength(6006);
    expect(collected.byBreaker(STATE, 'tenant-999')).toEqual(states({ open: 1 }));
    expect(collected.byBreaker(STATE, '_other')).toEqual(states({}));
    expect(logger.entries).toEqual([]);
  });

  it('goes out through a periodic reader to an exporter, as in production', async () => {
    const { registry } = registryOnClock();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    try {
      await fail(registry.get('edge'));
      handle = instrumentBreakers(registry, { meter: provider.getMeter('edge-service') });
      await reader.forceFlush();
      const exported = exporter.getMetrics();
      expect(exported).toHaveLength(1);
      const collected = new Collection(exported[0] as (typeof exported)[number]);
      expect(collected.byBreaker(STATE, 'edge')).toEqual(states({ open: 1 }));
      expect(collected.byBreaker(TRANSITIONS, 'edge')).toEqual({
        ...AUTOMATIC_AT_0,
        'closed>open': 1,
      });
      expect(collected.value(HEALTH)).toBe(2);
    } finally {
      await provider.shutdown();
    }
  });

  it('warns through process.emitWarning when no logger is given', async () => {
    const { registry } = registryOnClock();
    const h = setUp();
    const { meter } = h;
    registry.get('a');
    registry.get('b');
    const warnings: unknown[][] = [];
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    try {
      handle = instrumentBreakers(registry, { meter, maxBreakers: 1 });
      await h.collect();
      await h.collect();
    } finally {
      emit.mockRestore();
    }
    expect(warnings).toEqual([
      [
        expect.stringContaining("1 of the registry's 2 breakers are reported summed"),
        { code: 'BREAKWATER_MAX_BREAKERS' },
      ],
    ]);
  });

  it('shows breakers added after it was set up', async () => {
    const { registry } = registryOnClock();
    const h = setUp();
    const { meter } = h;
    registry.get('first');
    handle = instrumentBreakers(registry, { meter });
    await h.collect();
    await fail(registry.get('later'));

    const collected = await h.collect();
    expect(collected.byBreaker(STATE, 'later')).toEqual(states({ open: 1 }));
    expect(collected.byBreaker(CALLS, 'later')).toMatchObject({ failure: 1 });
  });
});

describe('instrumentBreakers durations', () => {
  /** A clock that counts its reads: a breaker on its fast path reads none per call. */
  function countingClock() {
    const clock = new ManualClock(1_000_000);
    const counting = {
      reads: 0,
      now() {
        counting.reads++;
        return clock.now();
      },
    };
    return { clock, counting };
  }

  it('records nothing and keeps breakers on their fast path unless asked', async () => {
    const { counting } = countingClock();
    const registry = new BreakerRegistry({ clock: counting });
    const h = setUp();
    const { meter } = h;
    const breaker = new CircuitBreaker({ name: 'fast', clock: counting });
    registry.register('fast', breaker);
    handle = instrumentBreakers(registry, { meter });
    counting.reads = 0;
    for (let i = 0; i < 10; i++) await succeed(breaker);
    expect(counting.reads).toBe(0);

    const collected = await h.collect();
    expect(collected.names()).not.toContain(DURATION);
    expect(collected.byBreaker(CALLS, 'fast')).toMatchObject({ success: 10 });
  });

  it('records each call in seconds by outcome, with the shared buckets', async () => {
    const clock = new ManualClock(1_000_000);
    const registry = new BreakerRegistry({
      clock,
      defaults: { failurePolicy: (error) => !(error instanceof NotFound) },
    });
    const h = setUp();
    const { meter } = h;
    const breaker = registry.get('ledger');
    handle = instrumentBreakers(registry, { meter, durations: true });
    await succeed(breaker, clock, 30);
    await succeed(breaker, clock, 700);
    await expect(
      breaker.execute(async () => {
        clock.advance(3_000);
        throw refused();
      }),
    ).rejects.toThrow('ECONNREFUSED');
    await expect(
      breaker.execute(async () => {
        clock.advance(5);
        throw new NotFound('gone');
      }),
    ).rejects.toThrow('gone');

    const collected = await h.collect();
    const byOutcome = collected.keyedHistograms(
      DURATION,
      'breakwater.breaker',
      'breakwater.outcome',
    );
    expect(Object.keys(byOutcome).sort()).toEqual([
      'ledger/failure',
      'ledger/ignored',
      'ledger/success',
    ]);
    expect(byOutcome['ledger/success']).toMatchObject({ count: 2, min: 0.03, max: 0.7 });
    expect(byOutcome['ledger/success']?.sum).toBeCloseTo(0.73, 10);
    expect(byOutcome['ledger/failure']).toMatchObject({ count: 1, sum: 3 });
    expect(byOutcome['ledger/ignored']).toMatchObject({ count: 1, sum: 0.005 });
    expect(byOutcome['ledger/success']?.buckets.boundaries).toEqual(DURATION_BUCKETS);
    // 0.03 s falls in (0.025, 0.05], 0.7 s in (0.5, 1].
    expect(byOutcome['ledger/success']?.buckets.counts).toEqual([
      0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
    ]);
    expect(collected.metric(DURATION)?.descriptor.unit).toBe('s');
  });

  it('skips a call that started before durations were on: it has no start time', async () => {
    const clock = new ManualClock(1_000_000);
    const registry = new BreakerRegistry({ clock });
    // A histogram drops a NaN silently; a sum does not, so recording the unmeasured call shows.
    const h = setUp(AggregationTemporality.CUMULATIVE, [
      { instrumentName: DURATION, aggregation: { type: AggregationType.SUM } },
    ]);
    const breaker = registry.get('early');
    let finish!: (value: string) => void;
    const inFlight = breaker.execute(
      () =>
        new Promise<string>((resolve) => {
          finish = resolve;
        }),
    );
    handle = instrumentBreakers(registry, { meter: h.meter, durations: true });
    clock.advance(50);
    finish('late');
    await expect(inFlight).resolves.toBe('late');
    await succeed(breaker, clock, 10);

    const collected = await h.collect();
    expect(collected.byBreaker(CALLS, 'early')).toMatchObject({ success: 2 });
    expect(collected.points(DURATION)).toEqual([
      {
        attributes: { 'breakwater.breaker': 'early', 'breakwater.outcome': 'success' },
        value: 0.01,
      },
    ]);
  });

  it('records the breakers past maxBreakers under _other, from the first call on', async () => {
    const clock = new ManualClock(1_000_000);
    const registry = new BreakerRegistry({ clock });
    const h = setUp();
    const { meter } = h;
    for (const name of ['a', 'b', 'c']) registry.get(name);
    handle = instrumentBreakers(registry, {
      meter,
      maxBreakers: 2,
      durations: true,
      logger: new CapturingLogger(),
    });
    await succeed(registry.get('c'), clock, 20);
    await succeed(registry.get('a'), clock, 10);
    await succeed(registry.get('d'), clock, 40);

    const collected = await h.collect();
    const sums = Object.fromEntries(
      Object.entries(collected.keyedHistograms(DURATION, 'breakwater.breaker')).map(([k, v]) => [
        k,
        v.sum,
      ]),
    );
    expect(sums).toEqual({ a: 0.01, _other: expect.closeTo(0.06, 10) });
  });

  it('stops on close(): callbacks removed, breakers back on their fast path', async () => {
    const { clock, counting } = countingClock();
    const registry = new BreakerRegistry({ clock: counting });
    const h = setUp(AggregationTemporality.DELTA);
    const { meter } = h;
    const breaker = new CircuitBreaker({ name: 'svc', clock: counting });
    registry.register('svc', breaker);
    handle = instrumentBreakers(registry, { meter, durations: true });
    counting.reads = 0;
    await succeed(breaker, clock, 15);
    expect(counting.reads).toBeGreaterThan(0);
    const live = await h.collect();
    expect(live.names()).toEqual(expect.arrayContaining([STATE, CALLS, HEALTH, DURATION]));

    handle.close();
    handle.close();
    counting.reads = 0;
    for (let i = 0; i < 5; i++) await succeed(breaker);
    expect(counting.reads).toBe(0);
    const closed = await h.collect();
    expect(closed.names()).toEqual([]);
  });

  it('leaves cumulative readers exporting the last values after close(), an open state and critical health included', async () => {
    const { clock, registry } = registryOnClock();
    const h = setUp();
    const { meter } = h;
    const breaker = new CircuitBreaker({ name: 'svc', clock, failureThreshold: 1 });
    registry.register('svc', breaker, { criticality: 'critical' });
    handle = instrumentBreakers(registry, { meter });
    await succeed(breaker);
    await fail(breaker);
    const last = await h.collect();
    expect(last.byBreaker(CALLS, 'svc')).toMatchObject({ success: 1, failure: 1 });
    expect(last.byBreaker(STATE, 'svc')).toEqual(states({ open: 1 }));
    expect(last.value(HEALTH)).toBe(3);

    // What the README warns of: the SDK repeats these until the provider shuts down.
    handle.close();
    breaker.forceClose();
    await succeed(breaker);
    for (const after of [await h.collect(), await h.collect()]) {
      expect(after.byBreaker(CALLS, 'svc')).toMatchObject({ success: 1, failure: 1 });
      expect(after.byBreaker(STATE, 'svc')).toEqual(states({ open: 1 }));
      expect(after.value(HEALTH)).toBe(3);
    }
    expect(registry.health().status).toBe('healthy');
  });
});

describe('instrumentBreakers options', () => {
  it('refuses what it cannot use, naming the option', () => {
    const registry = new BreakerRegistry();
    const h = setUp();
    const { meter } = h;
    expect(() => instrumentBreakers(registry, { meter, maxBreaker: 5 } as never)).toThrow(
      'instrumentBreakers: unknown option "maxBreaker"; known options are meter, maxBreakers, durations, logger',
    );
    expect(() => instrumentBreakers(registry, {} as never)).toThrow(
      'instrumentBreakers: option "meter" must be an OpenTelemetry Meter',
    );
    expect(() => instrumentBreakers(registry, { meter, maxBreakers: -1 })).toThrow(RangeError);
    expect(() => instrumentBreakers(registry, { meter, maxBreakers: 1.5 })).toThrow(
      'instrumentBreakers: option "maxBreakers" must be an integer >= 0, got 1.5',
    );
    expect(() => instrumentBreakers(registry, { meter, durations: 'yes' as never })).toThrow(
      'option "durations" must be a boolean, got "yes"',
    );
    expect(() => instrumentBreakers(registry, { meter, logger: console.log as never })).toThrow(
      'option "logger" must have a warn(fields, message) method',
    );
    expect(() => instrumentBreakers({} as never, { meter })).toThrow(
      'instrumentBreakers: needs a BreakerRegistry, got an object',
    );
    expect(() => instrumentBreakers(registry, undefined as never)).toThrow(
      'instrumentBreakers: options must be an object, got undefined',
    );
  });
});
