import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AUTOMATIC_AT_0,
  CALLS,
  DURATION,
  fail,
  registryOnClock,
  STATE,
  states,
  succeed,
  TRANSITIONS,
} from '../test/breakers.js';
import { CapturingLogger } from '../test/capturing-logger.js';
import { type Collection, MeterHarness } from '../test/metric-reader.js';
import { instrumentBreakers } from './breaker-instruments.js';
import type { Instrumentation } from './meter.js';

let harness: MeterHarness | undefined;
let handle: Instrumentation | undefined;

afterEach(async () => {
  handle?.close();
  handle = undefined;
  await harness?.shutdown();
  harness = undefined;
});

/** The breaker names a collection has `breakwater.circuit.state` points for, sorted. */
function breakerNames(collected: Collection): string[] {
  const names = new Set(
    collected.points(STATE).map((p) => String(p.attributes['breakwater.breaker'])),
  );
  return [...names].sort();
}

const otherSuccesses = (collected: Collection) => collected.byBreaker(CALLS, '_other').success;

describe('instrumentBreakers past maxBreakers', () => {
  it.each([
    ['delta', AggregationTemporality.DELTA],
    ['cumulative', AggregationTemporality.CUMULATIVE],
  ])(
    'counts what the breakers in _other did once, while they leave the registry (%s)',
    async (_, temporality) => {
      const { registry } = registryOnClock();
      harness = new MeterHarness(temporality);
      registry.get('own');
      const tenants = ['t0', 't1', 't2', 't3', 't4', 't5'];
      for (const name of tenants) {
        for (let i = 0; i < 10; i++) await succeed(registry.get(name));
      }
      handle = instrumentBreakers(registry, {
        meter: harness.meter,
        maxBreakers: 1,
        logger: new CapturingLogger(),
      });
      const exported = [otherSuccesses(await harness.collect())];
      // Each interval: one more call by the last tenant, and an idle tenant leaves the registry.
      for (let round = 0; round < 5; round++) {
        await succeed(registry.get('t5'));
        registry.delete(`t${round}`);
        exported.push(otherSuccesses(await harness.collect()));
      }

      const truth = 6 * 10 + 5;
      if (temporality === AggregationTemporality.DELTA) {
        expect(exported).toEqual([60, 1, 1, 1, 1, 1]);
        expect(exported.reduce((a = 0, b = 0) => a + b, 0)).toBe(truth);
      } else {
        expect(exported).toEqual([60, 61, 62, 63, 64, 65]);
      }
    },
  );

  it.each([
    [
      'delta',
      AggregationTemporality.DELTA,
      [
        ['_other', 'a', 'b'],
        ['_other', 'b'],
        ['_other', 'b', 'd'],
      ],
    ],
    // The SDK keeps exporting a departed breaker's sets at their last values: what the README
    // warns of for registries whose breakers come and go.
    [
      'cumulative',
      AggregationTemporality.CUMULATIVE,
      [
        ['_other', 'a', 'b'],
        ['_other', 'a', 'b'],
        ['_other', 'a', 'b', 'd'],
      ],
    ],
  ])(
    'keeps a breaker in _other for its life; a slot freed by a departure goes to a newcomer (%s)',
    async (_, temporality, names) => {
      const { registry } = registryOnClock();
      harness = new MeterHarness(temporality);
      for (const name of ['a', 'b', 'c']) await succeed(registry.get(name));
      handle = instrumentBreakers(registry, {
        meter: harness.meter,
        maxBreakers: 2,
        logger: new CapturingLogger(),
      });
      const first = await harness.collect();
      expect(first.byBreaker(CALLS, '_other')).toMatchObject({ success: 1 });

      registry.delete('a');
      await succeed(registry.get('c'));
      const second = await harness.collect();
      // c is not promoted into a's place: its history would be counted twice.
      expect(second.byBreaker(STATE, '_other')).toEqual(states({ closed: 1 }));
      expect(second.byBreaker(CALLS, '_other')).toMatchObject({
        success: temporality === AggregationTemporality.DELTA ? 1 : 2,
      });

      await fail(registry.get('d'));
      const third = await harness.collect();
      expect(third.byBreaker(STATE, 'd')).toEqual(states({ open: 1 }));
      expect(third.byBreaker(STATE, '_other')).toEqual(states({ closed: 1 }));
      expect([first, second, third].map(breakerNames)).toEqual(names);
    },
  );

  it('reports only _other with maxBreakers 0, and warns of nothing it was asked for', async () => {
    const { registry } = registryOnClock();
    harness = new MeterHarness();
    await succeed(registry.get('a'));
    await fail(registry.get('b'));
    const logger = new CapturingLogger();
    const emit = vi.spyOn(process, 'emitWarning');
    handle = instrumentBreakers(registry, { meter: harness.meter, maxBreakers: 0, logger });
    const collected = await harness.collect();
    expect(breakerNames(collected)).toEqual(['_other']);
    expect(collected.byBreaker(STATE, '_other')).toEqual(states({ closed: 1, open: 1 }));
    expect(collected.byBreaker(CALLS, '_other')).toMatchObject({ success: 1, failure: 1 });
    expect(logger.entries).toEqual([]);
    expect(emit).not.toHaveBeenCalled();
  });
});

describe('instrumentBreakers transitions after reset()', () => {
  it("follows a breaker's counts down to 0; _other keeps what its breakers did", async () => {
    const { clock, registry } = registryOnClock();
    harness = new MeterHarness();
    const own = registry.get('own');
    const pooled = registry.get('pooled');
    for (const breaker of [own, pooled]) {
      await fail(breaker);
      clock.advance(1_000);
      await fail(breaker);
      breaker.disable();
    }
    handle = instrumentBreakers(registry, {
      meter: harness.meter,
      maxBreakers: 1,
      logger: new CapturingLogger(),
    });
    const happened = {
      ...AUTOMATIC_AT_0,
      'closed>open': 1,
      'open>half_open': 1,
      'half_open>open': 1,
      'open>disabled': 1,
    };
    const before = await harness.collect();
    expect(before.byBreaker(TRANSITIONS, 'own')).toEqual(happened);
    expect(before.byBreaker(TRANSITIONS, '_other')).toEqual(happened);

    own.reset();
    pooled.reset();
    expect(own.transitionCount('closed', 'open')).toBe(0);
    const after = await harness.collect();
    // Every pair it exported is observed at 0, the operator's one included: a counter reset.
    expect(after.byBreaker(TRANSITIONS, 'own')).toEqual({ ...AUTOMATIC_AT_0, 'open>disabled': 0 });
    expect(after.byBreaker(TRANSITIONS, '_other')).toEqual(happened);

    await fail(pooled);
    const later = await harness.collect();
    expect(later.byBreaker(TRANSITIONS, '_other')).toEqual({ ...happened, 'closed>open': 2 });
  });
});

describe('instrumentBreakers durations past maxBreakers', () => {
  it('times each breaker under the series its counters use, whatever order the calls come in', async () => {
    const { clock, registry } = registryOnClock();
    harness = new MeterHarness(AggregationTemporality.DELTA);
    registry.get('a');
    handle = instrumentBreakers(registry, {
      meter: harness.meter,
      maxBreakers: 2,
      durations: true,
      logger: new CapturingLogger(),
    });
    // Added after set-up, and called in another order than the registry's.
    for (const name of ['b', 'c', 'd']) registry.get(name);
    await succeed(registry.get('d'), clock, 40);
    await succeed(registry.get('b'), clock, 20);
    await succeed(registry.get('c'), clock, 10);
    await succeed(registry.get('a'), clock, 5);

    const collected = await harness.collect();
    const timed = collected.keyedHistograms(DURATION, 'breakwater.breaker');
    const counted = Object.fromEntries(
      ['a', 'b', 'c', 'd', '_other'].map((name) => [
        name,
        collected.byBreaker(CALLS, name).success,
      ]),
    );
    // d was seen first (by its call), so it holds the second own series; b and c share _other.
    expect(counted).toEqual({ a: 1, b: undefined, c: undefined, d: 1, _other: 2 });
    expect(Object.keys(timed).sort()).toEqual(['_other', 'a', 'd']);
    expect(timed.d).toMatchObject({ count: 1, sum: 0.04 });
    expect(timed._other?.count).toBe(2);
    expect(timed._other?.sum).toBeCloseTo(0.03, 10);
    expect(timed.a).toMatchObject({ count: 1, sum: 0.005 });
  });

  it('times a breaker made again after leaving under the series a walk gives it', async () => {
    const { clock, registry } = registryOnClock();
    harness = new MeterHarness(AggregationTemporality.DELTA);
    registry.get('a');
    registry.get('b');
    handle = instrumentBreakers(registry, {
      meter: harness.meter,
      maxBreakers: 1,
      durations: true,
      logger: new CapturingLogger(),
    });
    await harness.collect();
    registry.delete('a');
    await harness.collect();
    // a's slot is free, b stays in _other; the new "a" is a new breaker and takes the slot.
    await succeed(registry.get('a'), clock, 30);
    await succeed(registry.get('b'), clock, 10);
    const collected = await harness.collect();
    const timed = collected.keyedHistograms(DURATION, 'breakwater.breaker');
    expect(Object.keys(timed).sort()).toEqual(['_other', 'a']);
    expect(timed.a).toMatchObject({ count: 1, sum: 0.03 });
    expect(timed._other).toMatchObject({ count: 1, sum: 0.01 });
    expect(collected.byBreaker(CALLS, 'a')).toMatchObject({ success: 1 });
  });
});
