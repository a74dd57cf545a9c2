import { ManualClock } from '@breakwater/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FallbackStrategy } from './fallback.js';
import { AuthorizationService } from './service.js';
import type { CheckRequest, Decision, FallbackDecider, PermissionChecker } from './types.js';

/** How the backend fails (or, for `deny`, answers without allowing) one call. */
type Failure =
  | 'connection'
  | 'deadline'
  | 'rate_limited'
  | 'other'
  | 'garbage'
  | 'throw'
  | 'hang'
  | 'deny';

const failures: fc.Arbitrary<Failure> = fc.constantFrom(
  'connection',
  'deadline',
  'rate_limited',
  'other',
  'garbage',
  'throw',
  'hang',
  'deny',
);

const request: fc.Arbitrary<CheckRequest> = fc.record({
  subject: fc.constantFrom('user:alice', 'user:bob', 'group:eng#member', 'user:carol_1'),
  resource: fc.constantFrom('document:readme', 'document:plan', 'health:status', 'tenant/doc:x'),
  permission: fc.constantFrom('read', 'write', 'admin'),
  // Strict checks neither read nor fill the cache, but their denies must still empty it.
  consistency: fc.constantFrom(undefined, undefined, 'fully_consistent' as const),
});

/** Few tuples, so a run checks, revokes and re-checks the same ones. */
const narrowRequest: fc.Arbitrary<CheckRequest> = fc.record({
  subject: fc.constantFrom('user:alice', 'user:bob'),
  resource: fc.constantFrom('document:readme', 'health:status'),
  permission: fc.constantFrom('read', 'write'),
  consistency: fc.constantFrom(undefined, undefined, 'fully_consistent' as const),
});

/** Before the outage: a check, or SpiceDB revoking a tuple allowed until then. */
type WarmUpStep = { readonly check: CheckRequest } | { readonly revoke: CheckRequest };
const warmUpStep: fc.Arbitrary<WarmUpStep> = fc.oneof(
  narrowRequest.map((check) => ({ check })),
  narrowRequest.map((revoke) => ({ revoke })),
);

const tupleOf = (req: CheckRequest): string => `${req.subject}|${req.resource}|${req.permission}`;

/** A backend that fails each call as the next failure in its pattern says (round and round). */
class FailingChecker implements PermissionChecker {
  calls = 0;
  constructor(private readonly pattern: readonly Failure[]) {}

  check(_req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    const failure = this.pattern[this.calls++ % this.pattern.length];
    switch (failure) {
      case 'connection':
        return Promise.reject(Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      case 'deadline':
        return Promise.reject(
          Object.assign(new Error('DEADLINE_EXCEEDED'), { category: 'timeout' }),
        );
      case 'rate_limited':
        return Promise.reject(
          Object.assign(new Error('RESOURCE_EXHAUSTED'), { category: 'rate_limited' }),
        );
      case 'garbage':
        return Promise.resolve('true' as unknown as boolean);
      case 'throw':
        throw new Error('the client library broke');
      case 'hang':
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      case 'deny':
        return Promise.resolve(false);
      default:
        return Promise.reject(new Error('internal error'));
    }
  }

  health(): Promise<void> {
    return Promise.resolve();
  }
}

/** Runs a check to its decision, moving the clock past the breaker's timeout if it hangs. */
async function decide(
  service: AuthorizationService,
  clock: ManualClock,
  req: CheckRequest,
): Promise<Decision> {
  const pending = service.check(req);
  let settled = false;
  const done = (): void => {
    settled = true;
  };
  pending.then(done, done);
  for (let i = 0; i < 10 && !settled; i++) await Promise.resolve();
  if (!settled) clock.advance(2_000);
  return pending;
}

const quiet = { info() {}, warn() {}, error() {} };

describe('fallbacks fail safe (property tests)', () => {
  it('with denyAll, nothing is allowed while the backend fails, whatever the requests and failures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(failures, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(request, fc.nat(70_000)), { minLength: 1, maxLength: 40 }),
        async (pattern, steps) => {
          const clock = new ManualClock(0);
          const checker = new FailingChecker(pattern);
          const service = new AuthorizationService({ checker, clock, logger: quiet });
          for (const [req, wait] of steps) {
            clock.advance(wait);
            const decision = await decide(service, clock, req);
            expect(decision.allowed).toBe(false);
            const stats = service.stats();
            expect(stats.checks.cache.allowed + stats.checks.fallback.allowed).toBe(0);
          }
          const { checks } = service.stats();
          const decided = Object.values(checks).reduce((n, c) => n + c.allowed + c.denied, 0);
          expect(decided).toBe(steps.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('with useCachedRules, only what SpiceDB allowed before comes back allowed, never more', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(narrowRequest, { selector: tupleOf, maxLength: 8 }),
        fc.array(warmUpStep, { maxLength: 30 }),
        fc.array(failures, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(narrowRequest, fc.nat(120_000)), { minLength: 1, maxLength: 30 }),
        async (allowedTuples, warmUp, pattern, outage) => {
          const clock = new ManualClock(0);
          const allowed = new Set(allowedTuples.map(tupleOf));
          let down = false;
          const failing = new FailingChecker(pattern);
          const checker: PermissionChecker = {
            check: (req, signal) =>
              down ? failing.check(req, signal) : Promise.resolve(allowed.has(tupleOf(req))),
            health: () => Promise.resolve(),
          };
          // The strategy sees only what the service hands it: record SpiceDB's own last answers.
          const lastAnswer = new Map<string, boolean>();
          const fallback: FallbackDecider = FallbackStrategy.useCachedRules({
            // biome-ignore lint/suspicious/noThenProperty: the option's name in the API contract
            then: FallbackStrategy.allowHealthOnly({ resource: 'health:status' }),
          });
          const service = new AuthorizationService({
            checker,
            clock,
            fallback,
            logger: quiet,
            cache: { ttl: 30_000, staleTtl: 90_000 },
          });
          service.on('decision', ({ request: req, decision }) => {
            if (decision.source === 'spicedb') lastAnswer.set(tupleOf(req), decision.allowed);
          });
          for (const step of warmUp) {
            if ('check' in step) await service.check(step.check);
            else allowed.delete(tupleOf(step.revoke));
          }
          down = true;
          for (const [req, wait] of outage) {
            clock.advance(wait);
            const decision = await decide(service, clock, req);
            if (!decision.allowed) continue;
            const before = lastAnswer.get(tupleOf(req)) === true;
            const health = decision.source === 'fallback' && req.resource === 'health:status';
            // An allow is SpiceDB's own earlier allow (cached), or the `then` strategy's rule.
            expect(before || (health && req.permission === 'read')).toBe(true);
          }
        },
      ),
      {
        numRuns: 150,
        // Always among the runs: allowed, cached, revoked, re-checked fully consistent (a deny),
        // then asked during the outage.
        examples: [
          [
            [{ subject: 'user:alice', resource: 'document:readme', permission: 'read' }],
            [
              { check: { subject: 'user:alice', resource: 'document:readme', permission: 'read' } },
              {
                revoke: { subject: 'user:alice', resource: 'document:readme', permission: 'read' },
              },
              {
                check: {
                  subject: 'user:alice',
                  resource: 'document:readme',
                  permission: 'read',
                  consistency: 'fully_consistent',
                },
              },
            ],
            ['connection'],
            [[{ subject: 'user:alice', resource: 'document:readme', permission: 'read' }, 1_000]],
          ],
        ],
      },
    );
  });
});
