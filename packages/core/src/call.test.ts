import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CircuitBreaker, FailurePolicy, TimeoutError } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { runTypeScript } from '../../../scripts/run-typescript.js';
import { deferred, hangingCall, onClock } from '../test/helpers.js';

describe('timeouts', () => {
  it('aborts the operation signal and fails with TimeoutError when the call runs past `timeout`', async () => {
    const { clock, options } = onClock({ name: 'vt', timeout: 500, failureThreshold: 1 });
    const breaker = new CircuitBreaker(options);
    const { call, signal } = hangingCall(breaker);
    clock.advance(499);
    expect(signal()?.aborted).toBe(false);
    clock.advance(1);
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'BREAKWATER_TIMEOUT', breaker: 'vt', timeoutMs: 500 });
    expect(signal()?.aborted).toBe(true);
    expect(signal()?.reason).toBe(error);
    expect(breaker.state().name).toBe('open');
    expect(breaker.metrics()).toMatchObject({ timeouts: 1, failedRequests: 1, totalRequests: 1 });
  });

  it('a timed-out call that settles later is not counted twice', async () => {
    const { clock, options } = onClock({ timeout: 100 });
    const breaker = new CircuitBreaker(options);
    const late = deferred<string>();
    const call = breaker.execute(() => late.promise);
    clock.advance(100);
    await expect(call).rejects.toBeInstanceOf(TimeoutError);
    late.resolve('too late');
    await late.promise;
    expect(breaker.metrics()).toMatchObject({
      totalRequests: 1,
      successfulRequests: 0,
      failedRequests: 1,
    });
  });

  it('a timeout the policy does not count is ignored, still reported in `timeouts`', async () => {
    const { clock, options } = onClock({
      timeout: 100,
      failureThreshold: 1,
      failurePolicy: new FailurePolicy({ countTimeouts: false }),
    });
    const breaker = new CircuitBreaker(options);
    const call = breaker.execute(() => new Promise<never>(() => {}));
    clock.advance(100);
    await expect(call).rejects.toBeInstanceOf(TimeoutError);
    expect(breaker.state().name).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ timeouts: 1, ignoredErrors: 1, failedRequests: 0 });
  });

  it('leaves no timer behind when a call finishes in time', async () => {
    const { clock, options } = onClock({ timeout: 1_000 });
    const breaker = new CircuitBreaker(options);
    await breaker.execute(async () => 1);
    await breaker.execute(async () => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires on real time with the system clock', async () => {
    const breaker = new CircuitBreaker({ timeout: 20 });
    await expect(breaker.execute(() => new Promise<never>(() => {}))).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });

  it('keeps the process alive until it fires, for an operation that waits only on its signal', () => {
    const fixture = fileURLToPath(new URL('../test/fixtures/signal-only-call.ts', import.meta.url));
    const child = runTypeScript(fixture, 15_000);
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('BREAKWATER_TIMEOUT');
    expect(child.status).toBe(0);
  });
});

describe("the caller's AbortSignal", () => {
  it('aborting it aborts the operation signal and rejects with the reason; never counted as a failure', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const controller = new AbortController();
    const { call, signal } = hangingCall(breaker, controller.signal);
    const reason = new Error('user went away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(signal()?.aborted).toBe(true);
    expect(breaker.state().name).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ ignoredErrors: 1, failedRequests: 0 });
  });

  it('an operation that rejects on the abort is cancelled, not failed, even with allErrors', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      failurePolicy: FailurePolicy.allErrors(),
    });
    const controller = new AbortController();
    const call = breaker.execute(
      (signal) =>
        new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('op saw abort')));
        }),
      controller.signal,
    );
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(breaker.state().name).toBe('closed');
  });

  it('with a timeout too, either one aborts the operation signal', async () => {
    const { clock, options } = onClock({ timeout: 1_000 });
    const breaker = new CircuitBreaker(options);
    const controller = new AbortController();
    const { call, signal } = hangingCall(breaker, controller.signal);
    expect(signal()).not.toBe(controller.signal);
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(signal()?.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an already-aborted signal rejects at once without running the operation or taking a probe slot', async () => {
    const breaker = new CircuitBreaker();
    let ran = false;
    const reason = new Error('already gone');
    await expect(
      breaker.execute(async () => {
        ran = true;
      }, AbortSignal.abort(reason)),
    ).rejects.toBe(reason);
    expect(ran).toBe(false);
    expect(breaker.metrics().totalRequests).toBe(0);
  });

  it('removes its abort listener from the caller signal when the call ends', async () => {
    const breaker = new CircuitBreaker({ timeout: 1_000 });
    const controller = new AbortController();
    await breaker.execute(async () => 1, controller.signal);
    await breaker
      .execute(async () => Promise.reject(new Error('x')), controller.signal)
      .catch(() => undefined);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('the signal on the fast path', () => {
  it('hands operations a signal that never aborts and keeps none of the listeners added to it', async () => {
    const breaker = new CircuitBreaker();
    const signals: AbortSignal[] = [];
    const listener = () => {};
    for (let i = 0; i < 3; i++) {
      await breaker.execute(async (signal) => {
        signal.addEventListener('abort', listener);
        signals.push(signal);
      });
    }
    const [first] = signals;
    expect(first).toBeInstanceOf(AbortSignal);
    expect(first?.aborted).toBe(false);
    expect(getEventListeners(first as AbortSignal, 'abort')).toHaveLength(0);
    // Node's own helpers work with it.
    expect(AbortSignal.any([first as AbortSignal]).aborted).toBe(false);
  });

  it('rejects a signal that is not an AbortSignal before taking a probe slot or arming a timer', async () => {
    const { clock, options } = onClock({ failureThreshold: 1, openDuration: 100, timeout: 50 });
    const breaker = new CircuitBreaker(options);
    await breaker
      .execute(() => Promise.reject(Object.assign(new Error('x'), { code: 'EPIPE' })))
      .catch(() => undefined);
    clock.advance(100);
    const notASignal = new AbortController() as unknown as AbortSignal;
    expect(() => breaker.execute(async () => 1, notASignal)).toThrow(
      /execute\(fn, signal\) needs an AbortSignal, got an object/,
    );
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 0, probeCount: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects a non-function operation with a TypeError', () => {
    const breaker = new CircuitBreaker({ name: 'db' });
    expect(() => breaker.execute('nope' as never)).toThrow(TypeError);
    expect(() => breaker.execute(undefined as never)).toThrow(
      /"db".*execute\(fn\) needs a function, got undefined/,
    );
    expect(() => breaker.wrap(42 as never)).toThrow(/wrap\(fn\) needs a function, got 42/);
  });
});
