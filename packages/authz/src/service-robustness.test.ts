import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { CapturingLogger } from '../test/capturing-logger.js';
import { DecisionCache } from './decision-cache.js';
import { AuthorizationRequestError } from './errors.js';
import { FallbackStrategy } from './fallback.js';
import { AuthorizationService } from './service.js';
import type { CheckRequest, PermissionChecker } from './types.js';

const alice: CheckRequest = { subject: 'user:alice', resource: 'document:a', permission: 'read' };
const bob: CheckRequest = { subject: 'user:bob', resource: 'document:b', permission: 'read' };

function refusedConnection(): Error {
  return Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
}

/** A checker that always fails to connect, single and bulk. */
const unreachable: PermissionChecker = {
  check: async () => {
    throw refusedConnection();
  },
  checkMany: async () => {
    throw refusedConnection();
  },
  health: async () => {},
};

describe('AuthorizationService: the failure policy is asked once per error (finding 4)', () => {
  it('a policy that counts each error once gets the fallback for every caller, single and bulk', async () => {
    const asked: unknown[] = [];
    const seen = new WeakSet<object>();
    const failurePolicy = (error: unknown): boolean => {
      asked.push(error);
      if (typeof error !== 'object' || error === null || seen.has(error)) return false;
      seen.add(error);
      return true;
    };
    const service = new AuthorizationService({
      checker: unreachable,
      breaker: { failurePolicy, failureThreshold: 10 },
    });
    expect(await service.check(alice)).toMatchObject({
      source: 'fallback',
      reason: 'backend_error',
    });
    expect(await service.checkMany([alice, bob])).toEqual([
      expect.objectContaining({ source: 'fallback', reason: 'backend_error' }),
      expect.objectContaining({ source: 'fallback', reason: 'backend_error' }),
    ]);
    expect(asked).toHaveLength(2); // one call each
    expect(service.breaker.state()).toMatchObject({ failureCount: 2 });
  });

  it('a policy that says no is obeyed by the service too: the error reaches the caller', async () => {
    const failurePolicy = (): boolean => false;
    const service = new AuthorizationService({ checker: unreachable, breaker: { failurePolicy } });
    await expect(service.check(alice)).rejects.toThrow('ECONNREFUSED');
    await expect(service.checkMany([alice])).rejects.toThrow('ECONNREFUSED');
    expect(service.stats().checks.fallback).toEqual({ allowed: 0, denied: 0 });
  });

  it('a policy that throws counts, once, and the fallback answers', async () => {
    let calls = 0;
    const logger = new CapturingLogger();
    const service = new AuthorizationService({
      checker: unreachable,
      logger,
      breaker: {
        failurePolicy: () => {
          calls++;
          throw new Error('policy bug');
        },
      },
    });
    expect(await service.check(alice)).toMatchObject({ source: 'fallback' });
    expect(calls).toBe(1);
    expect(logger.text()).toContain('the failure policy threw');
  });

  it('a thrown primitive is judged once too', async () => {
    let calls = 0;
    const checker: PermissionChecker = {
      check: () => Promise.reject('socket hang up'),
      health: async () => {},
    };
    const service = new AuthorizationService({
      checker,
      breaker: { failurePolicy: () => ++calls === 1 },
    });
    expect(await service.check(alice)).toMatchObject({ source: 'fallback' });
    await expect(service.check(alice)).rejects.toBe('socket hang up');
    expect(calls).toBe(2);
  });
});

describe('AuthorizationService: bulk answers are decided as validated (finding 5)', () => {
  it('an element that reads differently after validation cannot become an allow', async () => {
    const checker: PermissionChecker = {
      check: async () => false,
      checkMany: async (reqs) => {
        const out: unknown[] = [];
        let reads = 0;
        Object.defineProperty(out, 0, {
          enumerable: true,
          get: () => (reads++ === 0 ? false : 'false'),
        });
        out.length = reqs.length;
        return out as boolean[];
      },
      health: async () => {},
    };
    const logger = new CapturingLogger();
    const service = new AuthorizationService({ checker, logger });
    const [decision] = await service.checkMany([alice]);
    expect(decision).toMatchObject({ allowed: false, source: 'spicedb' });
    expect(logger.entries).toEqual([]);
  });
});

describe('AuthorizationService: cache stats count only decided checks (finding 7)', () => {
  it('a checkMany that rejects counts no hit nor miss; one that resolves counts each', async () => {
    let hang = true;
    const checker: PermissionChecker = {
      check: async () => true,
      checkMany: (reqs, signal) =>
        hang
          ? new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
            )
          : Promise.resolve(reqs.map(() => true)),
      health: async () => {},
    };
    const service = new AuthorizationService({ checker });
    await service.check(alice); // a miss, then cached
    const controller = new AbortController();
    const pending = service.checkMany([alice, bob], { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort(new Error('caller left'));
    await expect(pending).rejects.toThrow('caller left');
    expect(service.stats().cache).toMatchObject({ hits: 0, misses: 1 });
    hang = false;
    await service.checkMany([alice, bob, bob]);
    const stats = service.stats();
    expect(stats.cache).toMatchObject({ hits: 1, misses: 3 });
    expect(stats.cache?.hits).toBe(stats.checks.cache.allowed + stats.checks.cache.denied);
  });
});

describe('AuthorizationService: nothing throws synchronously, and the cache cannot fail a check (finding 8)', () => {
  const checker: PermissionChecker = { check: async () => true, health: async () => {} };
  const throwing = {
    resource: 'document:x',
    permission: 'read',
    get subject(): string {
      throw new Error('session expired');
    },
  };

  it('a throwing getter rejects the check, with or without a cache', async () => {
    for (const cache of [undefined, false as const]) {
      const service = new AuthorizationService({ checker, cache });
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = service.check(throwing as never);
      }).not.toThrow();
      await expect(result).rejects.toThrow('session expired');
      expect(service.stats().requestErrors).toBe(1);
    }
  });

  it('a cache whose lookups throw is a miss (logged); the backend decides, and the fallback gets no cached decision', async () => {
    class Broken extends DecisionCache {
      override getTuple(): boolean | undefined {
        throw new Error('cache broken');
      }
      override getStale(): boolean | undefined {
        throw new Error('cache broken');
      }
    }
    const logger = new CapturingLogger();
    let up = true;
    const service = new AuthorizationService({
      checker: {
        check: async () => {
          if (!up) throw refusedConnection();
          return true;
        },
        health: async () => {},
      },
      cache: new Broken(),
      logger,
      fallback: FallbackStrategy.useCachedRules(),
    });
    expect(await service.check(alice)).toMatchObject({ allowed: true, source: 'spicedb' });
    expect(await service.checkMany([alice])).toEqual([
      expect.objectContaining({ allowed: true, source: 'spicedb' }),
    ]);
    up = false;
    expect(await service.check(alice)).toMatchObject({ allowed: false, source: 'fallback' });
    const messages = logger.entries.map((entry) => entry.message);
    expect(messages).toContain(
      'the decision cache could not look up a decision; the backend decides',
    );
    expect(messages).toContain('the decision cache could not be read for the fallback');
  });

  it('refuses a check that is not an object as such, before and after a cache', async () => {
    for (const cache of [undefined, false as const]) {
      const service = new AuthorizationService({ checker, cache });
      for (const input of [[], null, 'user:alice']) {
        const refused = await service.check(input as never).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(AuthorizationRequestError);
        expect(refused).toMatchObject({ field: 'request' });
        expect((refused as Error).message).toMatch(/^a check must be an object/);
      }
    }
  });

  it('checkMany refuses a per-check signal, naming it, instead of ignoring it', async () => {
    const service = new AuthorizationService({ checker });
    const checks = [alice, { ...bob, signal: AbortSignal.abort() }];
    const refused = await service.checkMany(checks).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AuthorizationRequestError);
    expect((refused as Error).message).toMatch(
      /^checks\[1\]\.signal: checkMany takes one signal in its options/,
    );
    expect(service.stats().requestErrors).toBe(1);
  });
});

describe('AuthorizationService: a shared call whose bookkeeping throws frees its slot', () => {
  /** A clock whose one read, the `throwAt`-th, throws (a clock source that glitches). */
  class GlitchingClock extends ManualClock {
    reads = 0;
    throwAt = -1;
    override now(): number {
      if (++this.reads === this.throwAt) throw new Error('clock glitch');
      return super.now();
    }
  }

  it('later identical checks ask SpiceDB again, whichever clock read throws', async () => {
    let glitched = 0;
    for (const cache of [false, undefined] as const) {
      for (let throwAt = 1; throwAt <= 12; throwAt++) {
        const clock = new GlitchingClock();
        let calls = 0;
        const checker: PermissionChecker = {
          check: async () => {
            calls++;
            return true;
          },
          health: async () => {},
        };
        const service = new AuthorizationService({ checker, clock, cache });
        clock.throwAt = throwAt;
        const first = await service.check(alice).then(
          () => 'decided',
          () => 'rejected',
        );
        if (first === 'rejected') glitched++;
        clock.throwAt = -1;
        const asked = calls;
        // A fresh check decides: it neither joins the glitched call nor hangs on it.
        expect(await service.check(alice)).toMatchObject({ allowed: true });
        if (cache === false) expect(calls).toBe(asked + 1);
      }
    }
    // The scan did hit reads whose throw rejects the check (else it tests nothing).
    expect(glitched).toBeGreaterThan(0);
  });
});

describe('AuthorizationService: cache hits + misses = cacheable checks decided', () => {
  const decidedChecks = (service: AuthorizationService): number => {
    const { checks } = service.stats();
    return Object.values(checks).reduce(
      (sum, byResult) => sum + byResult.allowed + byResult.denied,
      0,
    );
  };

  it('an aborted check, or one whose uncounted error reaches its caller, counts no miss', async () => {
    let answer: () => Promise<boolean> = () => new Promise<boolean>(() => {});
    const checker: PermissionChecker = { check: () => answer(), health: async () => {} };
    const service = new AuthorizationService({
      checker,
      clock: new ManualClock(),
      breaker: { failurePolicy: (error) => error !== 'EQUOTA' },
    });
    const controller = new AbortController();
    const aborted = service.check({ ...alice, signal: controller.signal });
    controller.abort(new Error('caller left'));
    await expect(aborted).rejects.toThrow('caller left');
    answer = () => Promise.reject('EQUOTA');
    await expect(service.check(bob)).rejects.toBe('EQUOTA');
    expect(service.stats().cache).toMatchObject({ hits: 0, misses: 0 });
    answer = () => Promise.resolve(true);
    await service.check(bob); // a miss, decided
    await service.check(bob); // a hit
    expect(service.stats().cache).toMatchObject({ hits: 1, misses: 1 });
    expect(decidedChecks(service)).toBe(2);
  });
});
