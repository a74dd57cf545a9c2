import { CircuitBreaker, FallbackBehavior } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { connectionRefused, onClock } from '../test/helpers.js';

describe('tryExecute', () => {
  it('resolves to ok, error or rejected, and never rejects', async () => {
    const { clock, options } = onClock({ failureThreshold: 1, openDuration: 1_000 });
    const breaker = new CircuitBreaker(options);
    expect(await breaker.tryExecute(async () => 7)).toEqual({ ok: true, value: 7 });
    const error = connectionRefused();
    expect(await breaker.tryExecute(() => Promise.reject(error))).toEqual({
      ok: false,
      rejected: false,
      error,
    });
    let ran = false;
    const refused = await breaker.tryExecute(async () => {
      ran = true;
    });
    expect(refused).toEqual({ ok: false, rejected: true, retryAfter: 1_000 });
    expect(ran).toBe(false);
    clock.advance(400);
    expect(await breaker.tryExecute(async () => 1)).toEqual({
      ok: false,
      rejected: true,
      retryAfter: 600,
    });
    expect(breaker.metrics()).toMatchObject({
      rejectedRequests: 2,
      failedRequests: 1,
      successfulRequests: 1,
    });
  });

  it("reports a synchronous throw, a caller's abort and a fallback's answer", async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { options } = onClock({
      failureThreshold: 1,
      logger,
      fallback: FallbackBehavior.failOpen(() => 'stand-in'),
    });
    const breaker = new CircuitBreaker(options);
    const thrown = new Error('sync');
    expect(
      await breaker.tryExecute(() => {
        throw thrown;
      }),
    ).toEqual({ ok: false, rejected: false, error: thrown });
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    expect(await breaker.tryExecute(async () => 1, controller.signal)).toMatchObject({
      ok: false,
      rejected: false,
      error: new Error('gone'),
    });
    await breaker.tryExecute(() => Promise.reject(connectionRefused()));
    expect(await breaker.tryExecute(async () => 'real')).toEqual({ ok: true, value: 'stand-in' });
    expect(logger.warn).toHaveBeenCalledWith(
      { breaker: 'breaker', reason: 'open' },
      'circuit breaker "breaker" is failing open: callers get synthetic results',
    );
  });

  it('throws at once for a call that is not a function', () => {
    const breaker = new CircuitBreaker();
    expect(() => breaker.tryExecute(42 as never)).toThrow(
      /tryExecute\(fn\) needs a function, got 42/,
    );
  });
});
