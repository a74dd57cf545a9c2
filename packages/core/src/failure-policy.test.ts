import {
  CircuitBreaker,
  classifyError,
  type ErrorCategory,
  FailurePolicy,
  TimeoutError,
} from '@breakwater/core';
import { describe, expect, it } from 'vitest';

const withCode = (code: string) => Object.assign(new Error(code), { code });
const withStatus = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });

const table: [label: string, error: unknown, category: ErrorCategory][] = [
  ['our TimeoutError', new TimeoutError('b', 10), 'timeout'],
  [
    'a DOMException TimeoutError (AbortSignal.timeout)',
    new DOMException('t', 'TimeoutError'),
    'timeout',
  ],
  ['an AbortError', new DOMException('a', 'AbortError'), 'cancelled'],
  ...[
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ENOTFOUND',
    'EHOSTUNREACH',
    'EAI_AGAIN',
    'ETIMEDOUT',
  ].map((code): [string, unknown, ErrorCategory] => [code, withCode(code), 'connection']),
  ['undici connect timeout', withCode('UND_ERR_CONNECT_TIMEOUT'), 'connection'],
  ['undici socket error', withCode('UND_ERR_SOCKET'), 'connection'],
  ['undici headers timeout', withCode('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
  ['HTTP 502', withStatus(502), 'unavailable'],
  ['HTTP 503 as statusCode', Object.assign(new Error('x'), { statusCode: 503 }), 'unavailable'],
  [
    'HTTP 504 on response',
    Object.assign(new Error('x'), { response: { status: 504 } }),
    'unavailable',
  ],
  ['HTTP 429', withStatus(429), 'rate_limited'],
  ['HTTP 500', withStatus(500), 'other'],
  [
    'fetch failed with a cause',
    new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }),
    'connection',
  ],
  [
    'a declared category',
    Object.assign(new Error('x'), { category: 'unavailable' }),
    'unavailable',
  ],
  [
    'an unknown declared category',
    Object.assign(new Error('x'), { category: 'weird', code: 'EPIPE' }),
    'connection',
  ],
  ['a plain Error', new Error('boom'), 'other'],
  ['a string', 'boom', 'other'],
  ['null', null, 'other'],
];

describe('classifyError', () => {
  it.each(table)('%s -> %s', (_label, error, category) => {
    expect(classifyError(error)).toBe(category);
  });

  it('stops following a cyclic cause chain', () => {
    const a: { cause?: unknown } = {};
    a.cause = a;
    expect(classifyError(a)).toBe('other');
  });
});

describe('FailurePolicy', () => {
  const cases = {
    timeout: new TimeoutError('b', 1),
    connection: withCode('ECONNRESET'),
    unavailable: withStatus(503),
    rate_limited: withStatus(429),
    other: new Error('bad request'),
    cancelled: new DOMException('a', 'AbortError'),
  };
  const counted = (policy: FailurePolicy) =>
    Object.entries(cases)
      .filter(([, error]) => policy.isFailure(error))
      .map(([name]) => name);

  it('default counts timeouts, connection failures and unavailable, not rate limiting', () => {
    expect(counted(FailurePolicy.default())).toEqual(['timeout', 'connection', 'unavailable']);
  });
  it('allErrors counts everything but cancellation', () => {
    expect(counted(FailurePolicy.allErrors())).toEqual([
      'timeout',
      'connection',
      'unavailable',
      'rate_limited',
      'other',
    ]);
  });
  it('connectionOnly counts connection failures and timeouts', () => {
    expect(counted(FailurePolicy.connectionOnly())).toEqual(['timeout', 'connection']);
  });
  it('flags combine', () => {
    expect(counted(new FailurePolicy({ countTimeouts: false, countRateLimited: true }))).toEqual([
      'connection',
      'unavailable',
      'rate_limited',
    ]);
  });
  it('rejects unknown flags and non-booleans', () => {
    expect(() => new FailurePolicy({ countTimeout: true } as never)).toThrow(
      /unknown option "countTimeout"/,
    );
    expect(() => new FailurePolicy(null as never)).toThrow(
      /FailurePolicy: options must be an object, got null/,
    );
    expect(() => new FailurePolicy({ countAllErrors: 1 } as never)).toThrow(
      /"countAllErrors" must be a boolean, got 1/,
    );
  });

  it('errors the breaker does not count pass through and change neither state nor count', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    await expect(breaker.execute(() => Promise.reject(withCode('ECONNRESET')))).rejects.toThrow();
    for (let i = 0; i < 5; i++) {
      await expect(breaker.execute(() => Promise.reject(withStatus(429)))).rejects.toMatchObject({
        status: 429,
      });
    }
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 1 });
    expect(breaker.metrics().ignoredErrors).toBe(5);
  });

  it('a function policy decides by itself', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      failurePolicy: (e) => e instanceof RangeError,
    });
    await expect(breaker.execute(() => Promise.reject(withCode('ECONNREFUSED')))).rejects.toThrow();
    expect(breaker.state().name).toBe('closed');
    await expect(breaker.execute(() => Promise.reject(new RangeError('r')))).rejects.toThrow();
    expect(breaker.state().name).toBe('open');
  });
});
