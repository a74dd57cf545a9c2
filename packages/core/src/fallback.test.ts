import {
  CircuitBreaker,
  CircuitOpenError,
  FallbackBehavior,
  type FallbackInfo,
} from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { connectionRefused, deferred, failOnce, onClock } from '../test/helpers.js';

interface Verdict {
  clean: boolean;
  source?: string;
}

describe('fail closed (the default)', () => {
  it('rejected calls throw CircuitOpenError', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    await failOnce(breaker);
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('with fallbackOnFailure a failed call still gets its own error', async () => {
    const breaker = new CircuitBreaker({ fallbackOnFailure: true });
    const error = connectionRefused();
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.metrics().fallbacks).toBe(0);
  });
});

describe('fail open', () => {
  it('rejected calls resolve with the synthetic value, and a warning is logged the first time only', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const infos: FallbackInfo[] = [];
    const breaker = new CircuitBreaker<Verdict>({
      name: 'clamav',
      failureThreshold: 1,
      logger,
      fallback: FallbackBehavior.failOpen((info) => {
        infos.push(info);
        return { clean: true, source: 'failopen' };
      }),
    });
    await failOnce(breaker);
    const op = vi.fn(async () => ({ clean: false }));
    await expect(breaker.execute(op)).resolves.toEqual({ clean: true, source: 'failopen' });
    await expect(breaker.execute(op)).resolves.toEqual({ clean: true, source: 'failopen' });
    expect(op).not.toHaveBeenCalled();
    expect(infos).toEqual([
      { breaker: 'clamav', reason: 'open' },
      { breaker: 'clamav', reason: 'open' },
    ]);
    const failOpenWarnings = logger.warn.mock.calls.filter(([, message]) =>
      /failing open/.test(message),
    );
    expect(failOpenWarnings).toHaveLength(1);
    expect(breaker.metrics()).toMatchObject({ rejectedRequests: 2, fallbacks: 2 });
  });

  it('says half_open_full when the probe slots are taken', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { clock, options } = onClock({
      failureThreshold: 1,
      openDuration: 100,
      logger,
      fallback: FallbackBehavior.failOpen((info: FallbackInfo) => info.reason),
    });
    const breaker = new CircuitBreaker<string>(options);
    await failOnce(breaker);
    clock.advance(100);
    const probe = deferred<string>();
    const running = breaker.execute(() => probe.promise);
    await expect(breaker.execute(async () => 'x')).resolves.toBe('half_open_full');
    probe.resolve('done');
    await running;
    expect(logger.warn).toHaveBeenCalledWith(
      { breaker: 'breaker', reason: 'half_open_full' },
      'circuit breaker "breaker" is failing open: callers get synthetic results',
    );
  });
});

describe('fallback to an alternate', () => {
  it('rejected calls go to the alternate; its failure reaches the caller', async () => {
    const alternate = vi.fn(async () => 'from replica');
    const breaker = new CircuitBreaker<string>({
      failureThreshold: 1,
      fallback: FallbackBehavior.fallback(alternate),
    });
    await failOnce(breaker);
    await expect(breaker.execute(async () => 'primary')).resolves.toBe('from replica');
    alternate.mockRejectedValueOnce(new Error('replica down too'));
    await expect(breaker.execute(async () => 'primary')).rejects.toThrow('replica down too');
  });

  it('an alternate that throws synchronously rejects the call instead of throwing', async () => {
    const breaker = new CircuitBreaker<string>({
      failureThreshold: 1,
      fallback: FallbackBehavior.fallback(() => {
        throw new Error('sync fallback bug');
      }),
    });
    await failOnce(breaker);
    const result = breaker.execute(async () => 'x');
    await expect(result).rejects.toThrow('sync fallback bug');
  });

  it('with fallbackOnFailure, a counted failure is answered by the fallback with the error', async () => {
    const seen: FallbackInfo[] = [];
    const breaker = new CircuitBreaker<string>({
      failureThreshold: 3,
      fallbackOnFailure: true,
      fallback: FallbackBehavior.fallback((info) => {
        seen.push(info);
        return 'cached';
      }),
    });
    const error = connectionRefused();
    await expect(breaker.execute(() => Promise.reject(error))).resolves.toBe('cached');
    expect(seen).toEqual([{ breaker: 'breaker', reason: 'failure', error }]);
    expect(breaker.metrics()).toMatchObject({ failedRequests: 1, fallbacks: 1 });
    // An error the policy does not count is the caller's business: it passes through.
    const ignored = new Error('validation failed');
    await expect(breaker.execute(() => Promise.reject(ignored))).rejects.toBe(ignored);
  });
});
