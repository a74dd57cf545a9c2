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
      counted: true,
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
    ).toEqual({ ok: false, rejected: false, error: thrown, counted: false }); // not a failure of the backend
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    expect(await breaker.tryExecute(async () => 1, controller.signal)).toMatchObject({
      ok: false,
      rejected: false,
      error: new Error('gone'),
      counted: false,
    });
    await breaker.tryExecute(() => Promise.reject(connectionRefused()));
    expect(await breaker.tryExecute(async () => 'real')).toEqual({ ok: true, value: 'stand-in' });
    expect(logger.warn).toHaveBeenCalledWith(
      { breaker: 'breaker', reason: 'open' },
      'circuit breaker "breaker" is failing open: callers get synthetic results',
    );
  });

  it("says whether this call's failure counted: a counted one, an uncounted one, a caller's abort", async () => {
    const counted = connectionRefused();
    const uncounted = new Error('bad request');
    const policy = (error: unknown): boolean => error !== uncounted;
    // The fast path (no signal, nothing tracked) and the tracked one (a timeout) build it apart.
    for (const extra of [{}, { timeout: 1_000 }]) {
      const { options } = onClock({ failureThreshold: 5, failurePolicy: policy, ...extra });
      const breaker = new CircuitBreaker(options);
      expect(await breaker.tryExecute(() => Promise.reject(counted))).toMatchObject({
        counted: true,
      });
      expect(await breaker.tryExecute(() => Promise.reject(uncounted))).toMatchObject({
        counted: false,
      });
      expect(
        await breaker.tryExecute(() => {
          throw counted;
        }),
      ).toMatchObject({ counted: true });
      const controller = new AbortController();
      const pending = breaker.tryExecute(() => new Promise<never>(() => {}), controller.signal);
      const reason = new Error('caller went away');
      controller.abort(reason);
      expect(await pending).toEqual({ ok: false, rejected: false, error: reason, counted: false });
      expect(breaker.metrics()).toMatchObject({ failedRequests: 2, ignoredErrors: 2 });
    }
  });

  it('gives each of two calls failing with one error the verdict it got', async () => {
    const shared = connectionRefused();
    let judged = 0;
    // A policy that counts an error once: the second call's identical error is not counted.
    const { options } = onClock({
      failureThreshold: 5,
      timeout: 1_000,
      failurePolicy: () => ++judged === 1,
    });
    const breaker = new CircuitBreaker(options);
    let fail!: (error: unknown) => void;
    const both = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const first = breaker.tryExecute(() => both);
    const second = breaker.tryExecute(() => both);
    fail(shared);
    expect(
      (await Promise.all([first, second])).map((r) => !r.ok && !r.rejected && r.counted),
    ).toEqual([true, false]);
  });

  describe("counted is the policy's verdict, even where the breaker could not act on it", () => {
    /** A call in flight and the function that fails it with a counted error. */
    function inFlight(breaker: CircuitBreaker<unknown>) {
      let fail!: (error: unknown) => void;
      const result = breaker.tryExecute(
        () =>
          new Promise<never>((_, reject) => {
            fail = reject;
          }),
      );
      return { result, fail: () => fail(connectionRefused()) };
    }
    // The fast path (nothing tracked) and the tracked one (a timeout) build the result apart.
    for (const [path, extra] of [
      ['fast', {}],
      ['tracked', { timeout: 1_000 }],
    ] as const) {
      it(`${path}: admitted before reset(), failing after it: counted, yet nothing recorded`, async () => {
        const { options } = onClock({ failureThreshold: 1, ...extra });
        const breaker = new CircuitBreaker(options);
        const call = inFlight(breaker);
        breaker.reset();
        call.fail();
        expect(await call.result).toMatchObject({ ok: false, rejected: false, counted: true });
        expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
        expect(breaker.metrics()).toMatchObject({ failedRequests: 0, ignoredErrors: 0 });
      });

      it(`${path}: admitted before forceOpen(), failing after it: counted, the breaker stays held open`, async () => {
        const { options } = onClock({ failureThreshold: 1, ...extra });
        const breaker = new CircuitBreaker(options);
        const call = inFlight(breaker);
        breaker.forceOpen();
        call.fail();
        expect(await call.result).toMatchObject({ counted: true });
        expect(breaker.state()).toMatchObject({ name: 'open', forced: true });
        expect(breaker.metrics()).toMatchObject({ failedRequests: 1, timesOpened: 1 });
      });

      it(`${path}: disabled: counted, nothing trips`, async () => {
        const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
        const { options } = onClock({ failureThreshold: 1, logger, ...extra });
        const breaker = new CircuitBreaker(options);
        breaker.disable();
        expect(logger.warn).toHaveBeenCalledWith(
          { breaker: 'breaker' },
          'circuit breaker "breaker" disabled: every call passes through',
        );
        const call = inFlight(breaker);
        call.fail();
        expect(await call.result).toMatchObject({ counted: true });
        expect(breaker.state()).toEqual({ name: 'disabled' });
        expect(breaker.metrics()).toMatchObject({ failedRequests: 1, timesOpened: 0 });
      });

      it(`${path}: observe mode: counted, the breaker only would have opened`, async () => {
        const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
        const { options } = onClock({ failureThreshold: 1, mode: 'observe', logger, ...extra });
        const breaker = new CircuitBreaker(options);
        const call = inFlight(breaker);
        call.fail();
        expect(await call.result).toMatchObject({ counted: true });
        expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
        expect(breaker.metrics()).toMatchObject({ timesWouldOpen: 1, timesOpened: 0 });
      });
    }

    it("fallbackOnFailure with a fallback that throws: counted, and the error is the fallback's", async () => {
      const fallbackError = new Error('no stand-in either');
      const { options } = onClock({
        failureThreshold: 1,
        fallbackOnFailure: true,
        fallback: FallbackBehavior.failOpen(() => {
          throw fallbackError;
        }),
        logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
      });
      const breaker = new CircuitBreaker(options);
      expect(await breaker.tryExecute(() => Promise.reject(connectionRefused()))).toEqual({
        ok: false,
        rejected: false,
        error: fallbackError,
        counted: true,
      });
      // Now open: the refusal judged no error, so its fallback's throw is not counted.
      expect(await breaker.tryExecute(async () => 'never runs')).toEqual({
        ok: false,
        rejected: false,
        error: fallbackError,
        counted: false,
      });
      expect(breaker.metrics()).toMatchObject({ failedRequests: 1, rejectedRequests: 1 });
    });
  });

  it('throws at once for a call that is not a function', () => {
    const breaker = new CircuitBreaker();
    expect(() => breaker.tryExecute(42 as never)).toThrow(
      /tryExecute\(fn\) needs a function, got 42/,
    );
  });
});
