import { CircuitBreaker, parseRetryAfter, retryAfterOf } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { connectionRefused, failOnce, onClock } from '../test/helpers.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

describe('parseRetryAfter', () => {
  it('reads whole seconds or an HTTP date, at most a day, and nothing else', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('99999999999', NOW)).toBe(DAY);
    for (const odd of [null, undefined, '', '-5', '1.5', 'soon', '2026-11-23']) {
      expect(parseRetryAfter(odd, NOW)).toBeUndefined();
    }
  });
});

describe('retryAfterOf', () => {
  it("reads the error's own retryAfter (ms) first, then its response's Retry-After header", () => {
    expect(retryAfterOf(Object.assign(new Error('x'), { retryAfter: 1_500 }), NOW)).toBe(1_500);
    expect(retryAfterOf({ retryAfter: Number.POSITIVE_INFINITY }, NOW)).toBe(DAY);
    const fetchLike = { response: { headers: new Headers({ 'Retry-After': '3' }) } };
    expect(retryAfterOf(fetchLike, NOW)).toBe(3_000);
    const axiosLike = { response: { headers: { 'retry-after': '4' } } };
    expect(retryAfterOf(axiosLike, NOW)).toBe(4_000);
    expect(retryAfterOf({ headers: { 'Retry-After': 5 } }, NOW)).toBe(5_000);
    for (const silent of [undefined, null, 'text', new Error('plain'), { retryAfter: -1 }]) {
      expect(retryAfterOf(silent, NOW)).toBeUndefined();
    }
  });
});

describe('honorRetryAfter', () => {
  const limited = (retryAfter: number) => Object.assign(connectionRefused(), { retryAfter });

  it('keeps the breaker open at least as long as the failure that opened it asked', async () => {
    for (const [honor, asked, expected] of [
      [true, 5_000, 5_000],
      [true, 200, 1_000],
      [false, 5_000, 1_000],
    ] as const) {
      const { options } = onClock({
        failureThreshold: 1,
        openDuration: 1_000,
        honorRetryAfter: honor,
      });
      const breaker = new CircuitBreaker(options);
      await failOnce(breaker, limited(asked));
      const state = breaker.state();
      expect(state.name === 'open' && state.until - state.openedAt).toBe(expected);
    }
  });

  it('applies to a failed probe too', async () => {
    const { clock, options } = onClock({
      failureThreshold: 1,
      openDuration: 1_000,
      honorRetryAfter: true,
    });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    clock.advance(1_000);
    await failOnce(breaker, limited(60_000));
    const state = breaker.state();
    expect(state.name === 'open' && state.until - state.openedAt).toBe(60_000);
  });

  it('reports an error whose Retry-After cannot be read, and opens for the usual period', async () => {
    const errors: string[] = [];
    const logger = {
      info() {},
      warn() {},
      error: (_: unknown, message: string) => errors.push(message),
    };
    const { options } = onClock({
      failureThreshold: 1,
      openDuration: 1_000,
      honorRetryAfter: true,
      logger,
    });
    const breaker = new CircuitBreaker(options);
    const hostile = Object.defineProperty(connectionRefused(), 'response', {
      get() {
        throw new Error('no response here');
      },
    });
    await failOnce(breaker, hostile);
    const state = breaker.state();
    expect(state.name === 'open' && state.until - state.openedAt).toBe(1_000);
    expect(errors).toContain('reading Retry-After from the failure threw; it is ignored');
  });

  it('must be a boolean', () => {
    expect(() => new CircuitBreaker({ honorRetryAfter: 'yes' as never })).toThrow(
      /"honorRetryAfter" must be a boolean, got "yes"/,
    );
  });
});
