import { CircuitBreaker, CircuitOpenError, FallbackBehavior } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import {
  breakerOnClock,
  connectionRefused,
  deferred,
  failOnce,
  hangingCall,
  succeedOnce,
} from '../test/helpers.js';

describe('closed', () => {
  it('opens on the Nth counted failure in a row', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 3 });
    await failOnce(breaker);
    await failOnce(breaker);
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 2 });
    await failOnce(breaker);
    expect(breaker.state().name).toBe('open');
  });

  it('a success resets the consecutive failure count', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 3 });
    await failOnce(breaker);
    await failOnce(breaker);
    await succeedOnce(breaker);
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    await failOnce(breaker);
    await failOnce(breaker);
    expect(breaker.state().name).toBe('closed');
  });

  it('a synchronous throw is a failure like a rejection, and reaches the caller as a rejection', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const error = connectionRefused();
    const result = breaker.execute(() => {
      throw error;
    });
    await expect(result).rejects.toBe(error);
    expect(breaker.state().name).toBe('open');
  });

  it('returns the operation value, also for a synchronous operation', async () => {
    const breaker = new CircuitBreaker();
    await expect(breaker.execute(async () => 42)).resolves.toBe(42);
    await expect(breaker.execute(() => 'plain')).resolves.toBe('plain');
    expect(breaker.metrics().successfulRequests).toBe(2);
  });
});

describe('open', () => {
  it('rejects at once without calling the operation, with a CircuitOpenError that says when to retry', async () => {
    const { clock, breaker } = breakerOnClock({
      name: 'clamav',
      failureThreshold: 1,
      openDuration: 10_000,
    });
    await failOnce(breaker);
    clock.advance(4_000);
    const op = vi.fn(async () => 'ran');
    const error = await breaker.execute(op).catch((e: unknown) => e);
    expect(op).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({
      code: 'BREAKWATER_CIRCUIT_OPEN',
      breaker: 'clamav',
      state: 'open',
      retryAfter: 6_000,
    });
    expect(breaker.metrics().rejectedRequests).toBe(1);
  });

  it('reports open with openedAt and until, then half-open once openDuration has passed, with no traffic', async () => {
    const { clock, breaker } = breakerOnClock({ failureThreshold: 1, openDuration: 10_000 });
    const start = clock.now();
    await failOnce(breaker);
    expect(breaker.state()).toEqual({
      name: 'open',
      openedAt: start,
      until: start + 10_000,
      forced: false,
    });
    clock.advance(9_999);
    expect(breaker.state().name).toBe('open');
    clock.advance(1);
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 0 });
  });

  it('adds up to `jitter` ms at random to each open period', async () => {
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 1,
      openDuration: 1_000,
      jitter: 500,
    });
    const periods = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await failOnce(breaker);
      const state = breaker.state();
      if (state.name !== 'open') throw new Error(`expected open, got ${state.name}`);
      const period = state.until - state.openedAt;
      expect(period).toBeGreaterThanOrEqual(1_000);
      expect(period).toBeLessThanOrEqual(1_500);
      expect(Number.isInteger(period)).toBe(true);
      periods.add(period);
      breaker.forceClose();
      clock.advance(1);
    }
    expect(periods.size).toBeGreaterThan(1);
  });

  it('the rejection error has no stack frames: rejecting is the hot error path', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    await failOnce(breaker);
    const error = (await breaker.execute(async () => 1).catch((e: unknown) => e)) as Error;
    expect(error.stack?.split('\n').filter((line) => line.trim().startsWith('at '))).toEqual([]);
    // ...and the global limit is restored for everyone else's errors.
    expect(new Error('x').stack).toMatch(/\n\s+at /);
  });
});

describe('half-open', () => {
  async function halfOpenBreaker(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
    const made = breakerOnClock({ failureThreshold: 1, openDuration: 1_000, ...options });
    await failOnce(made.breaker);
    made.clock.advance(1_000);
    return made;
  }

  it('admits at most halfOpenMaxProbes in flight and rejects the rest at once, not queued', async () => {
    const { breaker } = await halfOpenBreaker({ halfOpenMaxProbes: 2, successThreshold: 5 });
    const probes = [deferred<string>(), deferred<string>()];
    const running = probes.map((p) => breaker.execute(() => p.promise));
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 2 });
    const op = vi.fn(async () => 'third');
    const error = await breaker.execute(op).catch((e: unknown) => e);
    expect(op).not.toHaveBeenCalled();
    expect(error).toMatchObject({
      code: 'BREAKWATER_CIRCUIT_OPEN',
      state: 'half_open',
      retryAfter: 0,
    });
    for (const p of probes) p.resolve('ok');
    await Promise.all(running);
  });

  it('frees a probe slot whenever a probe finishes, whatever its outcome, so it never sticks half-open', async () => {
    const { breaker } = await halfOpenBreaker({ successThreshold: 3 });
    await succeedOnce(breaker);
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 1, probeCount: 0 });
    // An error the policy ignores frees the slot without counting either way.
    const ignored = new Error('bad input');
    await expect(breaker.execute(() => Promise.reject(ignored))).rejects.toBe(ignored);
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 1, probeCount: 0 });
    // A synchronous throw frees it too.
    await expect(
      breaker.execute(() => {
        throw ignored;
      }),
    ).rejects.toBe(ignored);
    // A caller's abort frees it too.
    const controller = new AbortController();
    const hanging = breaker.execute(() => new Promise<never>(() => {}), controller.signal);
    expect(breaker.state()).toMatchObject({ probeCount: 1 });
    controller.abort();
    await expect(hanging).rejects.toMatchObject({ name: 'AbortError' });
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 1, probeCount: 0 });
    await succeedOnce(breaker);
    await succeedOnce(breaker);
    expect(breaker.state().name).toBe('closed');
  });

  it('closes after successThreshold successful probes', async () => {
    const { breaker } = await halfOpenBreaker({ successThreshold: 2 });
    await succeedOnce(breaker);
    expect(breaker.state().name).toBe('half_open');
    await succeedOnce(breaker);
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(breaker.metrics()).toMatchObject({ timesOpened: 1, timesClosed: 1 });
  });

  it('re-opens on a counted failure, and the attempt counter grows so openDuration can back off', async () => {
    const openDuration = vi.fn(({ attempt }: { attempt: number }) => 1_000 * 2 ** (attempt - 1));
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 1,
      openDuration,
      successThreshold: 1,
    });
    await failOnce(breaker);
    clock.advance(1_000);
    await failOnce(breaker);
    const state = breaker.state();
    expect(state).toMatchObject({ name: 'open', until: clock.now() + 2_000 });
    clock.advance(2_000);
    await failOnce(breaker);
    expect(breaker.state()).toMatchObject({ name: 'open', until: clock.now() + 4_000 });
    expect(openDuration.mock.calls.map(([ctx]) => ctx.attempt)).toEqual([1, 2, 3]);
    // A full close resets the backoff.
    clock.advance(4_000);
    await succeedOnce(breaker);
    await failOnce(breaker);
    expect(openDuration.mock.calls.at(-1)?.[0].attempt).toBe(1);
  });

  it('an openDuration function that returns nonsense is reported and the breaker still opens', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 1,
      openDuration: () => Number.NaN,
      logger,
    });
    await failOnce(breaker);
    expect(breaker.state()).toMatchObject({ name: 'open', until: clock.now() + 30_000 });
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(String(logger.error.mock.calls[0]?.[0].err)).toMatch(/openDuration.*NaN/);
  });
});

describe('calls admitted under an earlier state', () => {
  it('a call admitted while closed that fails after the trip is counted but does not re-trip or extend', async () => {
    const { clock, breaker } = breakerOnClock({ failureThreshold: 2, openDuration: 1_000 });
    const late = deferred<string>();
    const lateCall = breaker.execute(() => late.promise);
    await failOnce(breaker);
    await failOnce(breaker);
    const opened = breaker.state();
    clock.advance(1_000);
    expect(breaker.state().name).toBe('half_open');
    late.reject(connectionRefused());
    await expect(lateCall).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 0 });
    expect(breaker.metrics().failedRequests).toBe(3);
    expect(opened.name).toBe('open');
  });

  it('a probe that finishes after the breaker closed cannot re-open it', async () => {
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 1,
      openDuration: 1_000,
      successThreshold: 1,
      halfOpenMaxProbes: 2,
    });
    await failOnce(breaker);
    clock.advance(1_000);
    const slow = deferred<string>();
    const slowProbe = breaker.execute(() => slow.promise);
    await succeedOnce(breaker);
    expect(breaker.state().name).toBe('closed');
    slow.reject(connectionRefused());
    await expect(slowProbe).rejects.toThrow();
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(breaker.metrics()).toMatchObject({ failedRequests: 2, successfulRequests: 1 });
  });

  it('a failure admitted while closed that lands while open neither extends nor re-counts the open period', async () => {
    const { clock, breaker } = breakerOnClock({ failureThreshold: 1, openDuration: 1_000 });
    const late = deferred<string>();
    const lateCall = breaker.execute(() => late.promise);
    await failOnce(breaker);
    const opened = breaker.state();
    clock.advance(500);
    late.reject(connectionRefused());
    await expect(lateCall).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state()).toEqual(opened);
    expect(breaker.metrics()).toMatchObject({ timesOpened: 1, failedRequests: 2 });
  });

  it('a success admitted while closed that lands in half-open neither closes it nor frees a probe slot', async () => {
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 1,
      openDuration: 1_000,
      successThreshold: 1,
    });
    const late = deferred<string>();
    const lateCall = breaker.execute(() => late.promise);
    await failOnce(breaker);
    clock.advance(1_000);
    const probe = deferred<string>();
    const probeCall = breaker.execute(() => probe.promise);
    late.resolve('late');
    await expect(lateCall).resolves.toBe('late');
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 1 });
    await expect(breaker.execute(async () => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    probe.resolve('probe');
    await probeCall;
    expect(breaker.state().name).toBe('closed');
  });
});

describe('metrics', () => {
  it('counts every outcome once and keeps total = successful + failed + ignored + rejected', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 2 });
    await succeedOnce(breaker);
    await expect(breaker.execute(() => Promise.reject(new Error('not counted')))).rejects.toThrow();
    await failOnce(breaker);
    await failOnce(breaker);
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    const m = breaker.metrics();
    expect(m).toEqual({
      totalRequests: 5,
      successfulRequests: 1,
      failedRequests: 2,
      rejectedRequests: 1,
      ignoredErrors: 1,
      timeouts: 0,
      fallbacks: 0,
      timesOpened: 1,
      timesClosed: 0,
      successRate: 1 / 3,
      timesWouldOpen: 0,
      failureRate: -1,
      slowCallRate: -1,
    });
  });

  it('successRate is 1 before any call was judged', () => {
    expect(new CircuitBreaker().metrics().successRate).toBe(1);
  });
});

describe('manual control', () => {
  it('forceOpen holds the breaker open past openDuration until forceClose', async () => {
    const { clock, breaker } = breakerOnClock({ openDuration: 1_000 });
    breaker.forceOpen();
    expect(breaker.state()).toMatchObject({
      name: 'open',
      forced: true,
      until: Number.POSITIVE_INFINITY,
    });
    clock.advance(1_000_000);
    expect(breaker.state().name).toBe('open');
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({
      retryAfter: Number.POSITIVE_INFINITY,
    });
    breaker.forceClose();
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    await succeedOnce(breaker);
  });

  it('forceOpen on a breaker that tripped by itself keeps it open beyond its period', async () => {
    const { clock, breaker } = breakerOnClock({ failureThreshold: 1, openDuration: 1_000 });
    await failOnce(breaker);
    breaker.forceOpen();
    clock.advance(5_000);
    expect(breaker.state()).toMatchObject({
      name: 'open',
      forced: true,
      until: Number.POSITIVE_INFINITY,
    });
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({
      retryAfter: Number.POSITIVE_INFINITY,
    });
  });

  it('forceClose clears the failure count and keeps the metrics', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 3 });
    await failOnce(breaker);
    await failOnce(breaker);
    breaker.forceClose();
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(breaker.metrics().failedRequests).toBe(2);
  });

  it('reset closes and clears state and metrics', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    await failOnce(breaker);
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    breaker.reset();
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(breaker.metrics()).toMatchObject({ totalRequests: 0, timesOpened: 0, timesClosed: 0 });
    await succeedOnce(breaker);
  });

  it('reset starts the metrics afresh: calls admitted before it that finish after it are not counted', async () => {
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 10,
      timeout: 100,
      fallbackOnFailure: true,
      fallback: FallbackBehavior.fallback(() => 'alt'),
    });
    const ok = deferred<string>();
    const refused = deferred<string>();
    const invalid = deferred<string>();
    const calls = [ok, refused, invalid].map((op) => breaker.execute(() => op.promise));
    const { call: hanging } = hangingCall(breaker);
    breaker.reset();
    ok.resolve('ok');
    refused.reject(connectionRefused());
    const bad = new Error('bad input');
    invalid.reject(bad);
    const settled = await Promise.allSettled(calls);
    clock.advance(100);
    const outcomes = [...settled, ...(await Promise.allSettled([hanging]))];
    // The callers still get what they would have: only the counting starts over.
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 'ok' },
      { status: 'fulfilled', value: 'alt' },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: 'alt' },
    ]);
    expect(breaker.metrics()).toMatchObject({
      totalRequests: 0,
      successfulRequests: 0,
      failedRequests: 0,
      ignoredErrors: 0,
      timeouts: 0,
      fallbacks: 0,
    });
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    await succeedOnce(breaker);
    expect(breaker.metrics()).toMatchObject({ totalRequests: 1, successfulRequests: 1 });
  });
});

describe('wrap', () => {
  it('passes arguments and this through and counts outcomes', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const api = {
      base: 10,
      async add(this: { base: number }, n: number) {
        return this.base + n;
      },
    };
    const add = breaker.wrap(api.add);
    await expect(add.call(api, 5)).resolves.toBe(15);
    const down = breaker.wrap(async (_host: string) => Promise.reject(connectionRefused()));
    await expect(down('h')).rejects.toThrow('ECONNREFUSED');
    await expect(add.call(api, 1)).rejects.toBeInstanceOf(CircuitOpenError);
  });
});

it('settles the side chain before the caller resumes, so state is current after await', async () => {
  const { breaker } = breakerOnClock({ failureThreshold: 1 });
  const op = deferred<string>();
  const call = breaker.execute(() => op.promise);
  op.reject(connectionRefused());
  await call.catch(() => undefined);
  expect(breaker.state().name).toBe('open');
});
