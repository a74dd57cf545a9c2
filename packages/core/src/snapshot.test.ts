import {
  backoff,
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
} from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { breakerOnClock, failOnce, onClock } from '../test/helpers.js';

/** A second breaker, on `clock`, restored from `breaker`'s JSON text. */
function restored(breaker: CircuitBreaker<unknown>, options: CircuitBreakerOptions<unknown>) {
  return new CircuitBreaker({ ...options, initialState: JSON.stringify(breaker) });
}

describe('toJSON and initialState', () => {
  it('round-trips a closed breaker with its failure count', async () => {
    const { breaker, clock } = breakerOnClock({ name: 'db', failureThreshold: 3 });
    await failOnce(breaker);
    await failOnce(breaker);
    const snapshot = breaker.toJSON();
    expect(snapshot).toEqual({
      format: 'breakwater.breaker',
      version: 1,
      name: 'db',
      state: 'closed',
      failureCount: 2,
      successCount: 0,
      attempt: 0,
      openedAt: null,
      until: null,
      savedAt: clock.now(),
    });
    const next = new CircuitBreaker({
      name: 'db',
      failureThreshold: 3,
      clock,
      initialState: snapshot,
    });
    expect(next.state()).toEqual({ name: 'closed', failureCount: 2 });
    await failOnce(next);
    expect(next.state().name).toBe('open');
  });

  it('restores an open breaker as open until its period ends, then half-open, keeping the backoff', async () => {
    const options = {
      name: 'api',
      failureThreshold: 1,
      openDuration: backoff.exponential({ initial: 1_000, max: 60_000 }),
    };
    const { breaker, clock } = breakerOnClock(options);
    await failOnce(breaker);
    clock.advance(1_000);
    await failOnce(breaker); // the probe fails: open for 2 s, attempt 2
    clock.advance(500);
    const early = restored(breaker, { ...options, clock });
    expect(early.state()).toMatchObject({ name: 'open', until: breaker.toJSON().until });
    await expect(early.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);

    clock.advance(5_000); // a cold start long after the period ended
    const late = new CircuitBreaker({ ...options, clock, initialState: JSON.stringify(early) });
    expect(late.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 0 });
    const periods: number[] = [];
    late.on('open', ({ openedAt, until }) => periods.push(until - openedAt));
    await failOnce(late);
    expect(periods).toEqual([4_000]); // attempt 3 of the backoff, not a fresh 1 s
  });

  it('an open snapshot restored after its period starts half-open, idle until a probe takes a slot', async () => {
    const options = { name: 'api', failureThreshold: 1, openDuration: 1_000, successThreshold: 1 };
    const { breaker, clock } = breakerOnClock(options);
    await failOnce(breaker);
    const saved = JSON.stringify(breaker);
    clock.advance(5_000);
    const next = new CircuitBreaker({ ...options, clock, initialState: saved });
    clock.advance(120_000); // longer than halfOpenMaxWait, with no probe in flight
    expect(next.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 0 });
    await expect(next.execute(async () => 'probe')).resolves.toBe('probe');
    expect(next.state().name).toBe('closed');
  });

  it('keeps an operator-held open breaker and a disabled one as they were', () => {
    const { breaker, clock } = breakerOnClock({ name: 'cache' });
    breaker.isolate();
    expect(breaker.toJSON()).toMatchObject({ state: 'open', until: null });
    const held = restored(breaker, { name: 'cache', clock });
    expect(held.state()).toMatchObject({
      name: 'open',
      forced: true,
      until: Number.POSITIVE_INFINITY,
    });
    breaker.disable();
    expect(restored(breaker, { name: 'cache', clock }).state()).toEqual({ name: 'disabled' });
  });

  it('in observe mode takes up only what an operator chose', async () => {
    const { breaker, clock } = breakerOnClock({ name: 'x', failureThreshold: 1 });
    await failOnce(breaker);
    const observing = restored(breaker, { name: 'x', clock, mode: 'observe' });
    expect(observing.state()).toEqual({ name: 'closed', failureCount: 0 });
  });

  it('refuses a corrupt, foreign or other breaker snapshot whole, saying why', () => {
    const { breaker, clock } = breakerOnClock({ name: 'db', failureThreshold: 1 });
    breaker.forceOpen();
    const good = breaker.toJSON();
    const cases: [unknown, RegExp][] = [
      ['{"format": "breakwater.breaker", ', /"initialState" is not valid JSON/],
      [42, /must be a snapshot from breaker.toJSON\(\), got 42/],
      [{ ...good, format: 'opossum' }, /is not a breakwater breaker snapshot \(format "opossum"\)/],
      [{ ...good, version: 2 }, /has version 2; this breaker reads version 1/],
      [{ ...good, name: 'cache' }, /belongs to breaker "cache", not "db"/],
      [{ ...good, state: 'ajar' }, /unknown state "ajar"/],
      [{ ...good, failureCount: -1 }, /"failureCount" must be an integer >= 0, got -1/],
      [{ ...good, openedAt: null }, /"openedAt" must be an epoch ms, got null/],
      [
        { ...good, until: (good.openedAt as number) - 1 },
        /"until" must be null or an epoch ms no earlier than openedAt/,
      ],
      [{ ...good, extra: true }, /unknown field "extra"/],
      [{ ...good, state: 'closed' }, /"openedAt" must be null when not open/],
    ];
    for (const [initialState, message] of cases) {
      expect(() => new CircuitBreaker({ name: 'db', clock, initialState } as never)).toThrow(
        message,
      );
    }
  });

  it('round-trips fractional times (a backoff factor of 1.5), and takes null as no snapshot', async () => {
    const options = {
      name: 'f',
      failureThreshold: 1,
      openDuration: backoff.exponential({ initial: 1_000, max: 60_000, factor: 1.5 }),
    };
    const { breaker, clock } = breakerOnClock(options);
    await failOnce(breaker);
    clock.advance(1_000.25);
    await failOnce(breaker); // the probe fails at a fractional time: open for 1.5 s from then
    const until = breaker.toJSON().until as number;
    expect(Number.isInteger(until)).toBe(false);
    expect(restored(breaker, { ...options, clock }).state()).toMatchObject({ name: 'open', until });
    expect(new CircuitBreaker({ name: 'f', initialState: null }).state().name).toBe('closed');
  });

  it('refuses counts that do not belong to the state', () => {
    const { breaker, clock } = breakerOnClock({ name: 'c' });
    const closed = breaker.toJSON();
    const make = (initialState: object) => () =>
      new CircuitBreaker({ name: 'c', clock, initialState } as never);
    expect(make({ ...closed, attempt: 3 })).toThrow(/has attempt 3 while closed/);
    expect(make({ ...closed, successCount: 2 })).toThrow(/has successCount 2 while closed/);
    expect(make({ ...closed, state: 'half_open' })).toThrow(
      /has attempt 0 while half_open \(it opened, so at least 1\)/,
    );
    expect(make({ ...closed, state: 'disabled', failureCount: 1 })).toThrow(
      /has failureCount 1 while disabled/,
    );
  });

  it('serialises with JSON.stringify', async () => {
    const { options } = onClock({ name: 'q', failureThreshold: 1 });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    expect(JSON.parse(JSON.stringify(breaker))).toEqual(breaker.toJSON());
  });
});
