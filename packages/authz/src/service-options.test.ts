import { BreakerRegistry, FailurePolicy, ManualClock, TimeoutError } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { DecisionCache } from './decision-cache.js';
import { AuthorizationRequestError } from './errors.js';
import { FallbackStrategy } from './fallback.js';
import { AuthorizationService } from './service.js';
import {
  type AuthorizationServiceOptions,
  countsAsSpiceDbFailure,
  SPICEDB_BREAKER_DEFAULTS,
} from './service-options.js';
import type { PermissionChecker } from './types.js';

const checker: PermissionChecker = {
  check: () => Promise.resolve(false),
  health: () => Promise.resolve(),
};

function make(options: Record<string, unknown>): AuthorizationService {
  return new AuthorizationService({ checker, ...options } as AuthorizationServiceOptions);
}

describe('AuthorizationService options', () => {
  it('rejects unknown keys, naming them', () => {
    expect(() => make({ fallbak: FallbackStrategy.denyAll() })).toThrow(
      'AuthorizationService: unknown option "fallbak"',
    );
    expect(() => new AuthorizationService(null as unknown as AuthorizationServiceOptions)).toThrow(
      'AuthorizationService: options must be an object, got null',
    );
  });

  it('needs a PermissionChecker', () => {
    for (const bad of [undefined, {}, { check() {} }, { check() {}, health() {}, checkMany: 1 }]) {
      expect(
        () => new AuthorizationService({ checker: bad } as AuthorizationServiceOptions),
      ).toThrow(/option "checker" must be a PermissionChecker/);
    }
  });

  it('checks the fallback, registry, criticality, logger and clock', () => {
    expect(() => make({ fallback: () => false })).toThrow(
      'option "fallback" must be a FallbackDecider',
    );
    expect(() => make({ fallback: { name: '', decide: () => false } })).toThrow(
      'option "fallback"',
    );
    expect(() => make({ registry: new Map() })).toThrow(
      'option "registry" must be a BreakerRegistry',
    );
    expect(() => make({ criticality: 'fatal' })).toThrow(
      'option "criticality" must be "critical", "degraded" or "warning", got "fatal"',
    );
    expect(() => make({ logger: console.log })).toThrow('option "logger" must be an object');
    expect(() => make({ clock: Date.now })).toThrow(
      'option "clock" must be an object with a now()',
    );
  });

  it('refuses breaker fallbacks: the service decides what SpiceDB cannot', () => {
    expect(() => make({ breaker: { fallbackOnFailure: true } })).toThrow(
      'option "breaker.fallbackOnFailure" is not accepted',
    );
    expect(() => make({ breaker: { fallback: undefined } })).toThrow(
      'option "breaker.fallback" is not accepted',
    );
    expect(() => make({ breaker: { failurePolicy: 'all' } })).toThrow(
      'option "breaker.failurePolicy" must be a FailurePolicy or a function',
    );
    // Core checks the rest of the breaker's options, naming them.
    expect(() => make({ breaker: { failureThreshold: 0 } })).toThrow('"failureThreshold"');
    expect(() => make({ breaker: { failureTreshold: 3 } })).toThrow(
      'unknown option "failureTreshold"',
    );
  });

  it('checks the cache options through DecisionCache', () => {
    expect(() => make({ cache: { ttl: -1 } })).toThrow('DecisionCache');
    expect(() => make({ cache: true })).toThrow();
  });

  it("uses the guide's breaker defaults, each one overridable", async () => {
    expect(SPICEDB_BREAKER_DEFAULTS).toEqual({
      name: 'spicedb',
      failureThreshold: 3,
      successThreshold: 2,
      openDuration: 60_000,
      jitter: 1_000,
      timeout: 2_000,
    });
    const clock = new ManualClock(0);
    const hang: PermissionChecker = {
      check: (_req, signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      health: () => Promise.resolve(),
    };
    const service = new AuthorizationService({
      checker: hang,
      clock,
      cache: false,
      breaker: {
        name: 'authz',
        failureThreshold: 1,
        timeout: 500,
        jitter: 0,
        successThreshold: undefined,
      },
    });
    expect(service.breaker.name).toBe('authz');
    const check = service.check({ subject: 'user:a1', resource: 'doc:a1', permission: 'read' });
    clock.advance(500);
    expect((await check).reason).toBe('timeout');
    const state = service.breaker.state();
    // One failure opened it, for exactly the default 60 s once jitter is 0.
    expect(state).toMatchObject({ name: 'open', openedAt: 500, until: 60_500 });
    clock.advance(60_000);
    expect(service.breaker.state().name).toBe('half_open');
  });

  it('takes the default for an option given as undefined, as core does: up to 1 s of jitter', async () => {
    const clock = new ManualClock(0);
    const failing: PermissionChecker = {
      check: () => Promise.reject(new Error('down')),
      health: () => Promise.resolve(),
    };
    const until = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const service = new AuthorizationService({
        checker: failing,
        clock,
        cache: false,
        breaker: { jitter: undefined, failureThreshold: 1 },
      });
      await service.check({ subject: 'user:a1', resource: 'doc:a1', permission: 'read' });
      const state = service.breaker.state();
      if (state.name !== 'open') throw new Error(`expected open, got ${state.name}`);
      expect(state.until).toBeGreaterThanOrEqual(60_000);
      expect(state.until).toBeLessThanOrEqual(61_000);
      until.add(state.until);
    }
    // Twenty open periods from up to 1,000 ms of jitter are not all the same length.
    expect(until.size).toBeGreaterThan(1);
  });

  it("gives the breaker the service's logger and clock", async () => {
    const clock = new ManualClock(7);
    const lines: string[] = [];
    const logger = { info() {}, warn: (_: unknown, m: string) => lines.push(m), error() {} };
    const failing: PermissionChecker = {
      check: () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNRESET' })),
      health: () => Promise.resolve(),
    };
    const service = new AuthorizationService({
      checker: failing,
      clock,
      logger,
      cache: false,
      breaker: { failureThreshold: 1 },
    });
    await service.check({ subject: 'user:a1', resource: 'doc:a1', permission: 'read' });
    expect(lines).toEqual(['circuit breaker "spicedb" opened']);
    expect(service.breaker.state()).toMatchObject({ name: 'open', openedAt: 7 });
  });

  it('makes a cache from options on its clock, or takes none', () => {
    const clock = new ManualClock(0);
    const service = new AuthorizationService({ checker, clock, cache: { maxEntries: 2 } });
    expect(service.cache).toBeInstanceOf(DecisionCache);
    const req = { subject: 'user:a1', resource: 'doc:a1', permission: 'read' };
    service.cache?.set(req, true);
    clock.advance(300_000);
    expect(service.cache?.get(req)).toBeUndefined();
    expect(make({ cache: false }).cache).toBeUndefined();
  });

  it('refuses a second service on the same registry under the same breaker name', () => {
    const registry = new BreakerRegistry();
    make({ registry });
    expect(() => make({ registry })).toThrow('a breaker called "spicedb" is already registered');
    expect(() => make({ registry, breaker: { name: 'spicedb-eu' } })).not.toThrow();
  });
});

describe('countsAsSpiceDbFailure', () => {
  it('counts every backend error, rate limiting and unknown ones included', () => {
    for (const error of [
      new Error('boom'),
      new TimeoutError('spicedb', 2_000),
      Object.assign(new Error('RESOURCE_EXHAUSTED'), { category: 'rate_limited' }),
      Object.assign(new Error('UNAUTHENTICATED'), { category: 'unavailable', configuration: true }),
      'a string thrown',
    ]) {
      expect(countsAsSpiceDbFailure(error)).toBe(true);
    }
  });

  it('never counts a refused request', () => {
    expect(countsAsSpiceDbFailure(new AuthorizationRequestError('permission', 'no such'))).toBe(
      false,
    );
  });

  it("counts a cancellation: the breaker never asks it about a caller's own abort", () => {
    expect(countsAsSpiceDbFailure(new DOMException('aborted', 'AbortError'))).toBe(true);
    expect(countsAsSpiceDbFailure({ category: 'cancelled' })).toBe(true);
  });

  it('wraps a FailurePolicy given as breaker.failurePolicy, keeping request errors uncounted', async () => {
    const refusal = new AuthorizationRequestError('request', 'refused');
    const failing: PermissionChecker = {
      check: () => Promise.reject(refusal),
      health: () => Promise.resolve(),
    };
    const service = new AuthorizationService({
      checker: failing,
      cache: false,
      breaker: { failurePolicy: FailurePolicy.allErrors(), failureThreshold: 1 },
    });
    await expect(
      service.check({ subject: 'user:a1', resource: 'doc:a1', permission: 'read' }),
    ).rejects.toBe(refusal);
    expect(service.breaker.state().name).toBe('closed');
  });
});

describe("the breaker's verdict on each call", () => {
  // A checker whose pending calls all fail with one rejection (a client that closes).
  function failTogether(reason: unknown): { checker: PermissionChecker; fail: () => void } {
    const rejects: Array<(error: unknown) => void> = [];
    return {
      checker: {
        check: () => new Promise<boolean>((_, reject) => rejects.push(reject)),
        health: () => Promise.resolve(),
      },
      fail: () => {
        for (const reject of rejects) reject(reason);
      },
    };
  }
  const read = (subject: string) => ({ subject, resource: 'doc:x1', permission: 'read' });
  const outcome = (p: Promise<{ source: string }>) =>
    p.then(
      (d) => d.source,
      () => 'thrown',
    );

  it('acts on the verdict each call got when two calls fail with the same error object', async () => {
    const down = new Error('client closed');
    const { checker: closing, fail } = failTogether(down);
    const seen = new WeakSet<object>();
    // Counts each error once: only the first of the two calls is counted.
    const onlyOnce = (error: unknown): boolean => {
      if (seen.has(error as object)) return false;
      seen.add(error as object);
      return true;
    };
    const service = new AuthorizationService({
      checker: closing,
      breaker: { failurePolicy: onlyOnce },
      clock: new ManualClock(),
    });
    const a = outcome(service.check(read('user:a1')));
    const b = outcome(service.check(read('user:b1')));
    await Promise.resolve();
    fail();
    expect(await Promise.all([a, b])).toEqual(['fallback', 'thrown']);
    expect(service.breaker.metrics()).toMatchObject({ failedRequests: 1, ignoredErrors: 1 });
  });

  it('never gives the fallback (here an allow) to two calls failing with one uncounted primitive', async () => {
    const { checker: quota, fail } = failTogether('EQUOTA');
    const service = new AuthorizationService({
      checker: quota,
      fallback: FallbackStrategy.allowReadOnly({ permissions: ['read'] }),
      breaker: { failurePolicy: (error) => error !== 'EQUOTA' },
      clock: new ManualClock(),
      logger: { info() {}, warn() {}, error() {} },
    });
    const a = outcome(service.check(read('user:a1')));
    const b = outcome(service.check(read('user:b1')));
    await Promise.resolve();
    fail();
    expect(await Promise.all([a, b])).toEqual(['thrown', 'thrown']);
  });

  it('is not worn out by many uncounted primitives run through the public breaker', async () => {
    const service = new AuthorizationService({
      checker: { check: () => Promise.reject('EQUOTA'), health: () => Promise.resolve() },
      fallback: FallbackStrategy.allowReadOnly({ permissions: ['read'] }),
      breaker: { failurePolicy: (error) => typeof error !== 'string' },
      clock: new ManualClock(),
      logger: { info() {}, warn() {}, error() {} },
    });
    for (let i = 0; i < 100; i++)
      await service.breaker.execute(() => Promise.reject(`other-${i}`)).catch(() => {});
    await expect(service.check(read('user:a1'))).rejects.toBe('EQUOTA');
  });
});
