import { backoff, CircuitBreaker } from '@breakwater/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { failOnce, onClock, succeedOnce } from '../test/helpers.js';

function openPeriods(options: ConstructorParameters<typeof CircuitBreaker>[0]) {
  const { clock, options: withClock } = onClock({
    failureThreshold: 1,
    successThreshold: 1,
    ...options,
  });
  const breaker = new CircuitBreaker(withClock);
  const periods: number[] = [];
  breaker.on('open', ({ openedAt, until }) => periods.push(until - openedAt));
  /** Lets the open period pass and fails the probe: the next, longer period. */
  const failProbe = async () => {
    const state = breaker.state();
    if (state.name === 'open') clock.advance(state.until - clock.now());
    await failOnce(breaker);
  };
  return { breaker, clock, periods, failProbe };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('backoff.exponential', () => {
  it('doubles the open period for each failed probe up to max, and starts over once closed', async () => {
    const { breaker, clock, periods, failProbe } = openPeriods({
      openDuration: backoff.exponential({ initial: 1_000, max: 5_000 }),
    });
    await failOnce(breaker);
    for (let i = 0; i < 4; i++) await failProbe();
    expect(periods).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    clock.advance(5_000);
    await succeedOnce(breaker);
    await failOnce(breaker);
    expect(periods.at(-1)).toBe(1_000);
  });

  it('takes a factor', async () => {
    const { breaker, periods, failProbe } = openPeriods({
      openDuration: backoff.exponential({ initial: 100, max: 100_000, factor: 3 }),
    });
    await failOnce(breaker);
    await failProbe();
    await failProbe();
    expect(periods).toEqual([100, 300, 900]);
  });

  it('rejects bad values, naming them', () => {
    expect(() => backoff.exponential({ initial: -1, max: 10 })).toThrow(/"initial".*got -1/);
    expect(() => backoff.exponential({ initial: 10, max: 5 })).toThrow(/"max".*>= 10, got 5/);
    expect(() => backoff.exponential({ initial: 1, max: 5, factor: 0.5 })).toThrow(
      /"factor" must be a finite number >= 1, got 0.5/,
    );
    expect(() => backoff.exponential({ initial: 1, max: 5, facter: 2 } as never)).toThrow(
      /unknown option "facter"/,
    );
  });
});

describe('backoff.constant', () => {
  it('opens for the same period every time', async () => {
    const { breaker, periods, failProbe } = openPeriods({ openDuration: backoff.constant(750) });
    await failOnce(breaker);
    await failProbe();
    expect(periods).toEqual([750, 750]);
    expect(() => backoff.constant(Number.NaN)).toThrow(/backoff.constant: option "ms"/);
  });
});

describe('jitter as a fraction', () => {
  it('adds up to that share of each period', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.9999);
    const { breaker, periods, failProbe } = openPeriods({
      openDuration: backoff.exponential({ initial: 1_000, max: 10_000 }),
      jitter: { fraction: 0.1 },
    });
    await failOnce(breaker);
    await failProbe();
    expect(periods).toEqual([1_100, 2_200]);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    await failProbe();
    expect(periods.at(-1)).toBe(4_000);
  });

  it('rejects a fraction outside 0..1', () => {
    expect(() => new CircuitBreaker({ jitter: { fraction: 1.5 } })).toThrow(
      /"jitter.fraction" must be a number from 0 to 1, got 1.5/,
    );
    expect(() => new CircuitBreaker({ jitter: { ratio: 0.1 } as never })).toThrow(
      /unknown option "ratio"/,
    );
  });
});
