import { inspect } from 'node:util';
import { BreakerRegistry, ManualClock, TimeoutError } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { DecisionCache } from './decision-cache.js';
import { AuthorizationRequestError, ForbiddenError, UnauthenticatedError } from './errors.js';
import type { AuthorizationEvents } from './events.js';
import { FallbackStrategy } from './fallback.js';
import { AuthorizationService, type CheckInput } from './service.js';
import type { AuthorizationServiceOptions } from './service-options.js';
import type { CheckRequest, Decision, FallbackDecider, PermissionChecker } from './types.js';

/** How the scripted checker answers one call. */
type Step =
  | { kind: 'answer'; value: unknown }
  | { kind: 'fail'; error: unknown }
  | { kind: 'hang' }
  | { kind: 'hold' };

interface Held {
  readonly req: CheckRequest;
  readonly signal: AbortSignal;
  resolve(value: boolean): void;
  reject(error: unknown): void;
}

/**
 * A PermissionChecker that answers from a tuple set, or by a script of steps taken one call at
 * a time: fail with an error, hang until aborted, or hold until the test settles it.
 */
class ScriptedChecker implements PermissionChecker {
  readonly allowed = new Set<string>();
  readonly calls: CheckRequest[] = [];
  readonly signals: AbortSignal[] = [];
  readonly held: Held[] = [];
  /** Steps for the next calls, first in first out; empty: answer from `allowed`. */
  readonly script: Step[] = [];
  /** Used for every call once the script is empty, when set. */
  always: Step | undefined;
  healthCalls = 0;
  healthStep: Step = { kind: 'answer', value: undefined };

  allow(subject: string, resource: string, permission: string): this {
    this.allowed.add(`${subject}|${resource}|${permission}`);
    return this;
  }

  check(req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    this.calls.push(req);
    this.signals.push(signal);
    const step = this.script.shift() ?? this.always;
    if (step === undefined)
      return Promise.resolve(this.allowed.has(`${req.subject}|${req.resource}|${req.permission}`));
    return this.run(step, req, signal) as Promise<boolean>;
  }

  health(signal: AbortSignal): Promise<void> {
    this.healthCalls++;
    return this.run(this.healthStep, undefined, signal) as Promise<void>;
  }

  private run(step: Step, req: CheckRequest | undefined, signal: AbortSignal): Promise<unknown> {
    switch (step.kind) {
      case 'answer':
        return Promise.resolve(step.value);
      case 'fail':
        return Promise.reject(step.error);
      case 'hang':
        return new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      case 'hold':
        return new Promise((resolve, reject) => {
          this.held.push({ req: req as CheckRequest, signal, resolve, reject });
        });
    }
  }
}

/** The same checker with a bulk call that answers from its tuple set, recording each batch. */
function withBulk(
  checker: ScriptedChecker,
  bulk?: (reqs: readonly CheckRequest[]) => Promise<unknown>,
): PermissionChecker & { batches: CheckRequest[][] } {
  const batches: CheckRequest[][] = [];
  return {
    batches,
    check: (req, signal) => checker.check(req, signal),
    health: (signal) => checker.health(signal),
    checkMany: (reqs) => {
      batches.push([...reqs]);
      if (bulk !== undefined) return bulk(reqs) as Promise<boolean[]>;
      return Promise.resolve(
        reqs.map((r) => checker.allowed.has(`${r.subject}|${r.resource}|${r.permission}`)),
      );
    },
  };
}

/** A bulk checker whose calls wait until the test answers them, in the order made. */
function heldBulk() {
  const answers: ((values: boolean[]) => void)[] = [];
  const bulk = withBulk(
    new ScriptedChecker(),
    () => new Promise<boolean[]>((resolve) => answers.push(resolve)),
  );
  return { bulk, answers };
}

interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger(): { lines: LogLine[]; info: Log; warn: Log; error: Log } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']): Log =>
    (fields, message) => {
      lines.push({ level, fields, message });
    };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}
type Log = (fields: Record<string, unknown>, message: string) => void;

const alice = { subject: 'user:alice', resource: 'document:readme', permission: 'read' } as const;
const spicedbAllowed = { allowed: true, source: 'spicedb', reason: 'has_permission' } as const;
const spicedbDenied = { allowed: false, source: 'spicedb', reason: 'no_permission' } as const;
const bob = { subject: 'user:bob', resource: 'document:readme', permission: 'read' } as const;

function connectionError(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:50051'), { code: 'ECONNREFUSED' });
}

function setup(options: Partial<AuthorizationServiceOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const checker = new ScriptedChecker();
  const logger = recordingLogger();
  const service = new AuthorizationService({ checker, clock, logger, ...options });
  return { clock, checker, logger, service };
}

/** Lets promise callbacks run (the breaker settles calls on microtasks). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('AuthorizationService.check: answers', () => {
  it("gives SpiceDB's allow and deny as spicedb decisions, frozen, and caches the allow", async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    const allow = await service.check(alice);
    const deny = await service.check(bob);
    expect(allow).toEqual({ allowed: true, source: 'spicedb', reason: 'has_permission' });
    expect(deny).toEqual({ allowed: false, source: 'spicedb', reason: 'no_permission' });
    expect(Object.isFrozen(allow) && Object.isFrozen(deny)).toBe(true);
    expect(service.cache?.getStale(alice)).toBe(true);
    expect(checker.calls).toHaveLength(2);
  });

  it('answers a cached decision from the cache without calling the checker, one shared object', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    const first = service.check(alice);
    const second = service.check({ ...alice, consistency: 'minimize_latency' });
    // A hit hands out the same settled promise: nothing is allocated for it.
    expect(first).toBe(second);
    expect(await first).toEqual({ allowed: true, source: 'cache', reason: 'has_permission' });
    expect(Object.isFrozen(await first)).toBe(true);
    expect(checker.calls).toHaveLength(1);
  });

  it('never answers from the cache for something that only looks like a cached check', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    // An array's template string is "user:alice": only strings may be looked up.
    const error = await rejectionOf(
      service.check({ ...alice, subject: ['user:alice'] } as unknown as CheckRequest),
    );
    expect(error).toBeInstanceOf(AuthorizationRequestError);
    expect((error as AuthorizationRequestError).field).toBe('subject');
    expect(checker.calls).toHaveLength(1);
  });

  it('refuses a malformed check with AuthorizationRequestError naming the field, before the checker', async () => {
    const { checker, service } = setup();
    const cases: [unknown, string][] = [
      [{ ...alice, subject: 'alice' }, 'subject'],
      [{ ...alice, resource: 'document:*' }, 'resource'],
      [{ ...alice, permission: 'Read!' }, 'permission'],
      [{ ...alice, consistency: 'eventually' }, 'consistency'],
      [null, 'request'],
    ];
    for (const [input, field] of cases) {
      const error = await rejectionOf(service.check(input as CheckRequest));
      expect(error).toBeInstanceOf(AuthorizationRequestError);
      expect((error as AuthorizationRequestError).field).toBe(field);
    }
    expect(checker.calls).toHaveLength(0);
    expect(service.stats().requestErrors).toBe(cases.length);
    expect(service.breaker.metrics().totalRequests).toBe(0);
  });

  it('passes the checker a copy of the check without the signal', async () => {
    const { checker, service } = setup();
    const signal = new AbortController().signal;
    await service.check({ ...alice, signal });
    expect(checker.calls[0]).toEqual(alice);
    expect(checker.signals[0]).not.toBe(signal);
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const { checker, service } = setup();
    const error = await rejectionOf(
      service.check({ ...alice, signal: 'soon' } as unknown as CheckRequest),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toContain('needs an AbortSignal, got "soon"');
    expect(checker.calls).toHaveLength(0);
  });

  it('treats an answer that is not a boolean as a backend error, never an allow', async () => {
    const { checker, service } = setup();
    checker.script.push({ kind: 'answer', value: 'true' }, { kind: 'answer', value: 1 });
    const first = await service.check(alice);
    const second = await service.check(bob);
    for (const decision of [first, second]) {
      expect(decision).toEqual({
        allowed: false,
        source: 'fallback',
        reason: 'backend_error',
        strategy: 'deny_all',
      });
    }
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 2 });
    expect(service.cache?.size).toBe(0);
  });
});

describe('AuthorizationService.check: freshness', () => {
  it('neither reads nor fills the cache for fully_consistent and atLeastAsFresh checks', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    const fresh = await service.check({ ...alice, consistency: 'fully_consistent' });
    const token = await service.check({ ...alice, consistency: { atLeastAsFresh: 'GhUKEzE3' } });
    expect(fresh.source).toBe('spicedb');
    expect(token.source).toBe('spicedb');
    expect(checker.calls).toHaveLength(3);
    expect(checker.calls[1]?.consistency).toBe('fully_consistent');

    checker.allow(bob.subject, bob.resource, bob.permission);
    await service.check({ ...bob, consistency: 'fully_consistent' });
    expect(service.cache?.getStale(bob)).toBeUndefined();
  });

  it('does not share a call between fully consistent checks', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hold' };
    const a = service.check({ ...alice, consistency: 'fully_consistent' });
    const b = service.check({ ...alice, consistency: 'fully_consistent' });
    expect(checker.held).toHaveLength(2);
    for (const held of checker.held) held.resolve(true);
    expect((await a).source).toBe('spicedb');
    expect((await b).source).toBe('spicedb');
  });

  it('gives a fully consistent check no cached decision, not even through useCachedRules', async () => {
    const { checker, service } = setup({ fallback: FallbackStrategy.useCachedRules() });
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    checker.always = { kind: 'fail', error: connectionError() };
    const decision = await service.check({ ...alice, consistency: 'fully_consistent' });
    expect(decision).toEqual({
      allowed: false,
      source: 'fallback',
      reason: 'backend_error',
      strategy: 'use_cached_rules',
    });
  });
});

describe('AuthorizationService.check: shared calls', () => {
  it('1,000 concurrent identical checks make one checker call', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hold' };
    const checks = Array.from({ length: 1_000 }, () => service.check(alice));
    expect(checker.calls).toHaveLength(1);
    checker.held[0]?.resolve(true);
    const decisions = await Promise.all(checks);
    expect(decisions.every((d) => d.allowed && d.source === 'spicedb')).toBe(true);
    expect(service.stats().backend.calls).toBe(1);
    expect(service.stats().checks.spicedb.allowed).toBe(1_000);
    // Settled calls leave: the next miss asks again.
    checker.always = undefined;
    await service.check(bob);
    expect(checker.calls).toHaveLength(2);
  });

  it('does not cache an answer whose call was under way when the cache was invalidated', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    checker.script.push({ kind: 'hold' });
    const before = service.check(alice);
    // The grant is revoked while SpiceDB is still answering from the state before it.
    checker.allowed.clear();
    service.cache?.invalidateSubject(alice.subject);
    checker.held[0]?.resolve(true);
    expect(await before).toEqual(spicedbAllowed);
    expect(service.cache?.getStale(alice)).toBeUndefined();
    expect(await service.check(alice)).toEqual(spicedbDenied);
    expect(checker.calls).toHaveLength(2);
  });

  it('a check made after an invalidation does not join a call that started before it', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hold' };
    const before = service.check(alice);
    service.cache?.invalidate(alice);
    const after = service.check(alice);
    expect(checker.calls).toHaveLength(2);
    const [older, newer] = checker.held as [Held, Held];
    older.resolve(true);
    expect(await before).toEqual(spicedbAllowed);
    // The older call settling leaves the newer one shared: a check made now joins it.
    const joining = service.check(alice);
    expect(checker.calls).toHaveLength(2);
    newer.resolve(false);
    expect(await after).toEqual(spicedbDenied);
    expect(await joining).toEqual(spicedbDenied);
    expect(service.stats().backend.calls).toBe(2);
    expect(service.stats().checks.spicedb).toEqual({ allowed: 1, denied: 2 });
  });

  it('an older call settling after a newer one never writes over its answer', async () => {
    const { checker, service } = setup({ cache: { cacheNegative: true } });
    checker.always = { kind: 'hold' };
    const before = service.check(alice);
    service.cache?.clear();
    const after = service.check(alice);
    const [older, newer] = checker.held as [Held, Held];
    newer.resolve(false);
    await after;
    older.resolve(true);
    expect((await before).allowed).toBe(true);
    expect(await service.check(alice)).toEqual({
      allowed: false,
      source: 'cache',
      reason: 'no_permission',
    });
    expect(checker.calls).toHaveLength(2);
  });

  it('does not cache the answers of a bulk call under way when the cache was invalidated', async () => {
    const { bulk, answers } = heldBulk();
    const { service } = setup({ checker: bulk });
    const many = service.checkMany([alice, bob]);
    await flush();
    service.cache?.invalidateResource(alice.resource);
    answers[0]?.([true, true]);
    expect((await many).map((d) => [d.allowed, d.source])).toEqual([
      [true, 'spicedb'],
      [true, 'spicedb'],
    ]);
    expect(service.cache?.size).toBe(0);
    // Without an invalidation the same batch fills the cache.
    const again = service.checkMany([alice, bob]);
    await flush();
    answers[1]?.([true, false]);
    await again;
    expect(service.cache?.getStale(alice)).toBe(true);
    expect(bulk.batches).toHaveLength(2);
  });

  it('counts a failed shared call once toward the breaker, and falls back for every caller', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hold' };
    const checks = Array.from({ length: 50 }, () => service.check(alice));
    checker.held[0]?.reject(connectionError());
    const decisions = await Promise.all(checks);
    expect(decisions.every((d) => d.reason === 'backend_error' && !d.allowed)).toBe(true);
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 1 });
    const stats = service.stats();
    expect(stats.backend).toMatchObject({ calls: 1, errors: 1 });
    expect(stats.fallbacks.deny_all?.backend_error).toBe(50);
    expect(stats.checks.fallback.denied).toBe(50);
  });

  it("runs the shared call without any caller's signal; an abort rejects only that caller, at once", async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hold' };
    const controller = new AbortController();
    const leaving = service.check({ ...alice, signal: controller.signal });
    const staying = service.check(alice);
    expect(checker.calls).toHaveLength(1);
    const reason = new Error('the client went away');
    controller.abort(reason);
    expect(await rejectionOf(leaving)).toBe(reason);
    const held = checker.held[0] as Held;
    expect(held.signal.aborted).toBe(false);
    held.resolve(true);
    expect(await staying).toEqual({ allowed: true, source: 'spicedb', reason: 'has_permission' });
    // The aborted caller got no decision, so it is in no count.
    expect(service.stats().checks.spicedb.allowed).toBe(1);
  });

  it('rejects with the reason of a signal aborted before the check', async () => {
    const { checker, service } = setup();
    const controller = new AbortController();
    const reason = new Error('cancelled upstream');
    controller.abort(reason);
    expect(await rejectionOf(service.check({ ...alice, signal: controller.signal }))).toBe(reason);
    expect(checker.calls).toHaveLength(0);
  });

  it('cancels an unshared call on the caller signal, without counting a failure', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hang' };
    const controller = new AbortController();
    const check = service.check({
      ...alice,
      consistency: 'fully_consistent',
      signal: controller.signal,
    });
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await rejectionOf(check)).toBe(reason);
    expect(checker.signals[0]?.aborted).toBe(true);
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(service.stats().backend.errors).toBe(0);
  });
});

describe('AuthorizationService.check: the breaker and the fallback', () => {
  it('opens after 3 counted failures; then the fallback answers without calling the checker', async () => {
    const { checker, service } = setup({ cache: false });
    checker.always = { kind: 'fail', error: connectionError() };
    for (let i = 0; i < 3; i++) {
      expect(await service.check(alice)).toEqual({
        allowed: false,
        source: 'fallback',
        reason: 'backend_error',
        strategy: 'deny_all',
      });
    }
    expect(service.breaker.state().name).toBe('open');
    const open = await service.check(alice);
    expect(open).toEqual({
      allowed: false,
      source: 'fallback',
      reason: 'circuit_open',
      strategy: 'deny_all',
    });
    expect(checker.calls).toHaveLength(3);
    // The same frozen object every time: fallback decisions are made once.
    expect(await service.check(bob)).toBe(open);
    expect(Object.isFrozen(open)).toBe(true);
  });

  it('closes after 2 successful probes once the open period (60 s + up to 1 s jitter) has passed', async () => {
    const { checker, clock, service } = setup({ cache: false });
    checker.always = { kind: 'fail', error: connectionError() };
    for (let i = 0; i < 3; i++) await service.check(alice);
    clock.advance(59_999);
    expect((await service.check(alice)).reason).toBe('circuit_open');
    clock.advance(1_001);
    checker.always = undefined;
    checker.allow(alice.subject, alice.resource, alice.permission);
    expect(await service.check(alice)).toEqual({
      allowed: true,
      source: 'spicedb',
      reason: 'has_permission',
    });
    expect(service.breaker.state().name).toBe('half_open');
    expect((await service.check(bob)).source).toBe('spicedb');
    expect(service.breaker.state().name).toBe('closed');
  });

  it('counts a deny as a success: denies never open the breaker', async () => {
    const { checker, service } = setup({ cache: false });
    for (let i = 0; i < 20; i++) expect((await service.check(bob)).reason).toBe('no_permission');
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(checker.calls).toHaveLength(20);
  });

  it('propagates AuthorizationRequestError from the checker, uncounted, never a fallback', async () => {
    const { checker, service } = setup({
      cache: false,
      fallback: FallbackStrategy.custom(() => true),
    });
    const refusal = new AuthorizationRequestError(
      'request',
      'SpiceDB CheckPermission refused the check (FAILED_PRECONDITION): relation/permission `nope` not found',
    );
    checker.always = { kind: 'fail', error: refusal };
    for (let i = 0; i < 5; i++) expect(await rejectionOf(service.check(alice))).toBe(refusal);
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    const stats = service.stats();
    expect(stats.requestErrors).toBe(5);
    expect(stats.fallbacks.custom).toEqual({ circuit_open: 0, backend_error: 0, timeout: 0 });
    expect(stats.backend).toMatchObject({ calls: 5, errors: 0 });
  });

  it('keeps refused requests uncounted even under a policy that counts everything', async () => {
    const { checker, service } = setup({ cache: false, breaker: { failurePolicy: () => true } });
    checker.always = {
      kind: 'fail',
      error: new AuthorizationRequestError('request', 'no such permission'),
    };
    for (let i = 0; i < 4; i++) await rejectionOf(service.check(alice));
    expect(service.breaker.state().name).toBe('closed');
  });

  it("answers a call that outlives the breaker's 2 s timeout with a timeout fallback", async () => {
    const { checker, clock, service } = setup();
    checker.always = { kind: 'hang' };
    const check = service.check(alice);
    clock.advance(1_999);
    await flush();
    expect(checker.signals[0]?.aborted).toBe(false);
    clock.advance(1);
    expect(await check).toEqual({
      allowed: false,
      source: 'fallback',
      reason: 'timeout',
      strategy: 'deny_all',
    });
    expect(checker.signals[0]?.reason).toBeInstanceOf(TimeoutError);
  });

  it("labels an error of category 'timeout' (a gRPC DEADLINE_EXCEEDED) as a timeout", async () => {
    const { checker, service } = setup();
    const deadline = Object.assign(new Error('DEADLINE_EXCEEDED'), { category: 'timeout' });
    checker.script.push({ kind: 'fail', error: deadline });
    expect((await service.check(alice)).reason).toBe('timeout');
  });

  it('counts rate limiting: SpiceDB refusing to answer is SpiceDB failing to answer', async () => {
    const { checker, service } = setup({ cache: false });
    checker.always = {
      kind: 'fail',
      error: Object.assign(new Error('RESOURCE_EXHAUSTED'), { category: 'rate_limited' }),
    };
    for (let i = 0; i < 3; i++) expect((await service.check(alice)).reason).toBe('backend_error');
    expect(service.breaker.state().name).toBe('open');
  });

  it('passes an error the failure policy does not count to the caller, as core does', async () => {
    const policyIgnoring = new Error('not ours to count');
    const { checker, service } = setup({
      breaker: { failurePolicy: (error) => error !== policyIgnoring },
    });
    checker.script.push({ kind: 'fail', error: policyIgnoring });
    expect(await rejectionOf(service.check(alice))).toBe(policyIgnoring);
  });

  it("tells the fallback the reason, the error and the cache's last (even expired) decision", async () => {
    const seen: unknown[] = [];
    const recorder: FallbackDecider = {
      name: 'recorder',
      decide: (req, context) => {
        seen.push({ req, ...context });
        return false;
      },
    };
    const { checker, clock, service } = setup({
      fallback: recorder,
      cache: { ttl: 1_000, staleTtl: 10_000 },
    });
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    clock.advance(5_000);
    const failure = connectionError();
    checker.always = { kind: 'fail', error: failure };
    await service.check(alice);
    await service.check(bob);
    expect(seen).toEqual([
      { req: alice, reason: 'backend_error', error: failure, cached: true },
      { req: bob, reason: 'backend_error', error: failure, cached: undefined },
    ]);
  });

  it('denies, and logs once, when the fallback throws or answers something but a boolean', async () => {
    let answer: () => unknown = () => {
      throw new Error('bug in the strategy');
    };
    const broken: FallbackDecider = { name: 'broken', decide: () => answer() as boolean };
    const { checker, logger, service } = setup({ fallback: broken, cache: false });
    checker.always = { kind: 'fail', error: connectionError() };
    expect((await service.check(alice)).allowed).toBe(false);
    expect((await service.check(alice)).allowed).toBe(false);
    const errors = () => logger.lines.filter((l) => l.level === 'error');
    expect(errors()).toHaveLength(1);
    expect(errors()[0]?.message).toContain('the fallback strategy "broken" threw');
    answer = () => true;
    expect((await service.check(alice)).allowed).toBe(true);
    answer = () => 'yes';
    const decision = await service.check(alice);
    expect(decision).toEqual({
      allowed: false,
      source: 'fallback',
      reason: 'circuit_open',
      strategy: 'broken',
    });
    expect(errors()).toHaveLength(2);
    expect(errors()[1]?.message).toContain('answered "yes", not a boolean');
  });

  it('with useCachedRules, allows while SpiceDB is down exactly what SpiceDB allowed before', async () => {
    const { checker, clock, service } = setup({
      fallback: FallbackStrategy.useCachedRules(),
      cache: { ttl: 1_000, staleTtl: 60_000 },
    });
    checker.allow(alice.subject, alice.resource, alice.permission);
    expect((await service.check(alice)).allowed).toBe(true);
    expect((await service.check(bob)).allowed).toBe(false);
    clock.advance(2_000);
    checker.always = { kind: 'fail', error: connectionError() };
    expect(await service.check(alice)).toEqual({
      allowed: true,
      source: 'fallback',
      reason: 'backend_error',
      strategy: 'use_cached_rules',
    });
    expect((await service.check(bob)).allowed).toBe(false);
    expect((await service.check({ ...alice, permission: 'write' })).allowed).toBe(false);
  });
});

describe('AuthorizationService: configuration problems', () => {
  it('logs a refused token once until a call succeeds again, never the token', async () => {
    const token = 'sk_live_very_secret_preshared_key';
    const { checker, logger, service } = setup({
      cache: false,
      breaker: { failureThreshold: 100 },
    });
    const refused = Object.assign(
      new Error('SpiceDB CheckPermission failed: UNAUTHENTICATED: invalid preshared key'),
      { category: 'unavailable', configuration: true, grpcStatus: 'UNAUTHENTICATED' },
    );
    checker.always = { kind: 'fail', error: refused };
    for (let i = 0; i < 3; i++) await service.check(alice);
    const problems = () => logger.lines.filter((l) => l.message.includes('SpiceDB token'));
    expect(problems()).toHaveLength(1);
    expect(problems()[0]).toMatchObject({
      level: 'error',
      fields: { breaker: 'spicedb', grpcStatus: 'UNAUTHENTICATED' },
    });
    checker.always = undefined;
    await service.check(alice);
    checker.always = { kind: 'fail', error: refused };
    await service.check(alice);
    expect(problems()).toHaveLength(2);
    expect(inspect(logger.lines, { depth: 10 })).not.toContain(token);
  });

  it('tells backendError listeners the error, its category and whether it is configuration', async () => {
    const { checker, service } = setup();
    const events: AuthorizationEvents['backendError'][] = [];
    service.on('backendError', (e) => events.push(e));
    const failure = connectionError();
    checker.script.push({ kind: 'fail', error: failure });
    await service.check(alice);
    checker.script.push({
      kind: 'fail',
      error: new AuthorizationRequestError('request', 'refused'),
    });
    await rejectionOf(service.check(bob));
    expect(events).toEqual([
      { request: alice, error: failure, category: 'connection', configuration: false },
    ]);
  });
});

describe('AuthorizationService: events', () => {
  it("tells 'decision' listeners every check with its duration on the service's clock", async () => {
    const { checker, clock, service } = setup();
    const events: AuthorizationEvents['decision'][] = [];
    service.on('decision', (e) => events.push(e));
    checker.script.push({ kind: 'hold' });
    const check = service.check(alice);
    clock.advance(25);
    checker.held[0]?.resolve(true);
    await check;
    await service.check(alice);
    expect(events).toEqual([
      {
        request: alice,
        decision: { allowed: true, source: 'spicedb', reason: 'has_permission' },
        durationMs: 25,
      },
      {
        request: alice,
        decision: { allowed: true, source: 'cache', reason: 'has_permission' },
        durationMs: 0,
      },
    ]);
  });

  it("tells 'fallback' listeners the decision, the reason and the error", async () => {
    const { checker, service } = setup({ cache: false, breaker: { failureThreshold: 1 } });
    const events: AuthorizationEvents['fallback'][] = [];
    service.on('fallback', (e) => events.push(e));
    const failure = connectionError();
    checker.always = { kind: 'fail', error: failure };
    const first = await service.check(alice);
    const second = await service.check(alice);
    expect(events).toEqual([
      { request: alice, decision: first, reason: 'backend_error', error: failure },
      { request: alice, decision: second, reason: 'circuit_open' },
    ]);
  });

  it('isolates listeners: one that throws is logged, the others and the check carry on', async () => {
    const { logger, service } = setup();
    const heard: string[] = [];
    service.on('decision', () => {
      throw new Error('audit sink down');
    });
    const off = service.on('decision', (e) => heard.push(e.decision.source));
    expect(await service.check(alice)).toEqual({
      allowed: false,
      source: 'spicedb',
      reason: 'no_permission',
    });
    expect(heard).toEqual(['spicedb']);
    expect(logger.lines).toEqual([
      {
        level: 'error',
        fields: { err: expect.any(Error), event: 'decision' },
        message: 'an authorization "decision" listener threw',
      },
    ]);
    off();
    off();
    await service.check(bob);
    expect(heard).toEqual(['spicedb']);
  });

  it('refuses an unknown event and a listener that is not a function', () => {
    const { service } = setup();
    expect(() => service.on('decided' as 'decision', () => {})).toThrow(
      'on(event) takes "decision", "fallback" or "backendError", got "decided"',
    );
    expect(() => service.on('decision', 'log' as unknown as () => void)).toThrow(
      'needs a function, got "log"',
    );
  });
});

describe('AuthorizationService.require', () => {
  it('throws UnauthenticatedError for a missing or empty subject, before anything else', async () => {
    const { checker, service } = setup();
    for (const input of [
      { resource: 'document:readme', permission: 'read' },
      { ...alice, subject: '' },
      { ...alice, subject: null },
      undefined,
    ]) {
      expect(await rejectionOf(service.require(input as unknown as CheckRequest))).toBeInstanceOf(
        UnauthenticatedError,
      );
    }
    expect(checker.calls).toHaveLength(0);
    expect(service.stats().requestErrors).toBe(0);
  });

  it('resolves with the decision on allow and throws ForbiddenError with it on deny', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    expect(await service.require(alice)).toEqual({
      allowed: true,
      source: 'spicedb',
      reason: 'has_permission',
    });
    const error = await rejectionOf(
      service.require({ ...bob, signal: new AbortController().signal }),
    );
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).decision).toEqual({
      allowed: false,
      source: 'spicedb',
      reason: 'no_permission',
    });
    expect((error as ForbiddenError).request).toEqual(bob);
  });

  it('passes a malformed check on as AuthorizationRequestError', async () => {
    const { service } = setup();
    expect(await rejectionOf(service.require({ ...alice, resource: 'readme' }))).toBeInstanceOf(
      AuthorizationRequestError,
    );
  });
});

describe('AuthorizationService.checkMany', () => {
  it('answers cached checks from the cache and the rest, deduplicated, in one bulk call, in order', async () => {
    const checker = new ScriptedChecker();
    checker.allow(alice.subject, alice.resource, alice.permission);
    checker.allow(bob.subject, 'document:plan', 'read');
    const bulk = withBulk(checker);
    const { service } = setup({ checker: bulk });
    await service.check(alice);
    const plan = { ...bob, resource: 'document:plan' };
    const decisions = await service.checkMany([bob, alice, plan, bob, plan]);
    expect(decisions.map((d) => [d.allowed, d.source])).toEqual([
      [false, 'spicedb'],
      [true, 'cache'],
      [true, 'spicedb'],
      [false, 'spicedb'],
      [true, 'spicedb'],
    ]);
    expect(bulk.batches).toEqual([[bob, plan]]);
    expect(service.cache?.getStale(plan)).toBe(true);
    expect(service.stats().checks).toEqual({
      cache: { allowed: 1, denied: 0 },
      spicedb: { allowed: 3, denied: 2 },
      fallback: { allowed: 0, denied: 0 },
    });
    expect(service.stats().backend.calls).toBe(2);
  });

  it('validates every check first; the first malformed one throws, naming checks[i]', async () => {
    const bulk = withBulk(new ScriptedChecker());
    const { service } = setup({ checker: bulk });
    const error = await rejectionOf(
      service.checkMany([alice, { ...bob, resource: 'nope' }, { ...bob, permission: '' }]),
    );
    expect(error).toBeInstanceOf(AuthorizationRequestError);
    expect((error as Error).message).toMatch(/^checks\[1\]: resource "nope"/);
    expect(bulk.batches).toHaveLength(0);
    expect(
      await rejectionOf(service.checkMany('nope' as unknown as CheckRequest[])),
    ).toBeInstanceOf(AuthorizationRequestError);
  });

  it('decides nothing for a batch with a malformed check: no lookup, no count, no event', async () => {
    const bulk = withBulk(new ScriptedChecker().allow(alice.subject, alice.resource, 'read'));
    const { service } = setup({ checker: bulk });
    await service.check(alice);
    const heard: AuthorizationEvents['decision'][] = [];
    service.on('decision', (e) => heard.push(e));
    const before = service.stats();
    const error = await rejectionOf(service.checkMany([alice, { ...bob, subject: 'bob' }]));
    expect((error as Error).message).toMatch(/^checks\[1\]: subject "bob"/);
    expect(heard).toEqual([]);
    const after = service.stats();
    expect(after.checks).toEqual(before.checks);
    expect(after.cache).toEqual(before.cache);
    expect(after.requestErrors).toBe(before.requestErrors + 1);
  });

  it('decides nothing for a batch that ends in an error: cached checks in it are neither counted nor announced', async () => {
    const refusal = new AuthorizationRequestError('request', 'SpiceDB refused check 1');
    const uncounted = new Error('not an outage');
    let outcome: unknown = refusal;
    const bulk = withBulk(new ScriptedChecker(), () =>
      outcome === 'hang' ? new Promise(() => {}) : Promise.reject(outcome),
    );
    const { service } = setup({
      checker: bulk,
      breaker: { failurePolicy: (e: unknown) => e !== uncounted },
    });
    service.cache?.set(alice, true);
    const heard: AuthorizationEvents['decision'][] = [];
    service.on('decision', (e) => heard.push(e));
    expect(await rejectionOf(service.checkMany([alice, bob]))).toBe(refusal);
    outcome = uncounted;
    expect(await rejectionOf(service.checkMany([alice, bob]))).toBe(uncounted);
    outcome = 'hang';
    const controller = new AbortController();
    const aborted = service.checkMany([alice, bob], { signal: controller.signal });
    await flush();
    const reason = new Error('gone');
    controller.abort(reason);
    expect(await rejectionOf(aborted)).toBe(reason);
    expect(heard).toEqual([]);
    expect(service.stats().checks.cache).toEqual({ allowed: 0, denied: 0 });
    expect(service.stats().requestErrors).toBe(1);
  });

  it("times each decision in a batch from the call: a cached one at its lookup, the rest at the bulk call's answer", async () => {
    const { bulk, answers } = heldBulk();
    const { clock, service } = setup({ checker: bulk });
    service.cache?.set(alice, true);
    const heard: [string, string, number][] = [];
    service.on('decision', (e) => heard.push([e.request.subject, e.decision.source, e.durationMs]));
    const many = service.checkMany([bob, alice, bob]);
    await flush();
    clock.advance(30);
    answers[0]?.([false]);
    await many;
    expect(heard).toEqual([
      ['user:bob', 'spicedb', 30],
      ['user:alice', 'cache', 0],
      ['user:bob', 'spicedb', 30],
    ]);
    expect(service.stats().backend.latencyMs).toEqual({ count: 1, sum: 30, max: 30 });
    expect(service.stats().checks).toEqual({
      cache: { allowed: 1, denied: 0 },
      spicedb: { allowed: 0, denied: 2 },
      fallback: { allowed: 0, denied: 0 },
    });
  });

  it('gives each uncached check its fallback decision when the bulk call fails', async () => {
    const checker = new ScriptedChecker();
    checker.allow(alice.subject, alice.resource, alice.permission);
    const failure = connectionError();
    let fail = false;
    const bulk = withBulk(checker, (reqs) =>
      fail ? Promise.reject(failure) : Promise.resolve(reqs.map(() => true)),
    );
    const { service } = setup({ checker: bulk, fallback: FallbackStrategy.useCachedRules() });
    await service.check(alice);
    fail = true;
    const write = { ...alice, permission: 'write' };
    const decisions = await service.checkMany([write, alice, bob]);
    expect(decisions).toEqual([
      { allowed: false, source: 'fallback', reason: 'backend_error', strategy: 'use_cached_rules' },
      { allowed: true, source: 'cache', reason: 'has_permission' },
      { allowed: false, source: 'fallback', reason: 'backend_error', strategy: 'use_cached_rules' },
    ]);
    expect(service.stats().fallbacks.use_cached_rules?.backend_error).toBe(2);
  });

  it('treats a bulk answer of the wrong length as a backend error', async () => {
    const bulk = withBulk(new ScriptedChecker(), () => Promise.resolve([true]));
    const { service } = setup({ checker: bulk });
    const decisions = await service.checkMany([alice, bob]);
    expect(decisions.map((d) => d.reason)).toEqual(['backend_error', 'backend_error']);
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 1 });
  });

  it('runs the checks concurrently in one breaker call when the checker has no checkMany', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hold' };
    const many = service.checkMany([alice, bob, { ...alice, consistency: 'fully_consistent' }]);
    await flush();
    expect(checker.held).toHaveLength(3);
    for (const held of checker.held) held.resolve(held.req.subject === 'user:alice');
    expect((await many).map((d) => d.allowed)).toEqual([true, false, true]);
    expect(service.breaker.metrics().totalRequests).toBe(1);
  });

  it('rejects with the caller signal reason and cancels the bulk call', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'hang' };
    const controller = new AbortController();
    const many = service.checkMany([alice, bob], { signal: controller.signal });
    await flush();
    const reason = new Error('gone');
    controller.abort(reason);
    expect(await rejectionOf(many)).toBe(reason);
    expect(checker.signals.every((s) => s.aborted)).toBe(true);
    const typo = await rejectionOf(
      service.checkMany([], { signal: controller.signal, timeout: 5 } as never),
    );
    expect(String(typo)).toContain('unknown option "timeout"');
  });

  it('passes a check SpiceDB refuses in the batch on as AuthorizationRequestError, uncounted', async () => {
    const refusal = new AuthorizationRequestError(
      'request',
      'SpiceDB CheckBulkPermissions check 1 refused',
    );
    const bulk = withBulk(new ScriptedChecker(), () => Promise.reject(refusal));
    const { service } = setup({ checker: bulk });
    expect(await rejectionOf(service.checkMany([alice, bob]))).toBe(refusal);
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    expect(service.stats().requestErrors).toBe(1);
  });

  it("tells 'decision' listeners of every check in the batch, duplicates included", async () => {
    const { service } = setup({ checker: withBulk(new ScriptedChecker()) });
    const heard: string[] = [];
    service.on('decision', (e) => heard.push(e.request.subject));
    await service.checkMany([alice, bob, alice]);
    expect(heard).toEqual(['user:alice', 'user:bob', 'user:alice']);
  });

  it('returns at once for an empty list', async () => {
    const { checker, service } = setup();
    expect(await service.checkMany([])).toEqual([]);
    expect(checker.calls).toHaveLength(0);
  });
});

describe('AuthorizationService.stats', () => {
  it('adds up: the checks by source are the checks decided', async () => {
    const { checker, clock, service } = setup({ fallback: FallbackStrategy.allowHealthOnly() });
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    await service.check(alice);
    await service.check(bob);
    checker.script.push({ kind: 'hold' });
    const slow = service.check({ ...bob, permission: 'write' });
    clock.advance(40);
    checker.held[0]?.resolve(false);
    await slow;
    checker.always = { kind: 'fail', error: connectionError() };
    await service.check({ subject: 'user:carol', resource: 'health:status', permission: 'read' });
    await service.check({ ...bob, permission: 'admin' });
    await service.check({ ...bob, permission: 'share' });
    await service.check({ ...bob, permission: 'delete' });
    await rejectionOf(service.check({ ...bob, subject: 'bob' }));
    const stats = service.stats();
    expect(stats).toEqual({
      checks: {
        cache: { allowed: 1, denied: 0 },
        spicedb: { allowed: 1, denied: 2 },
        fallback: { allowed: 1, denied: 3 },
      },
      // The malformed check was looked up too (the lookup comes before validation), but a miss
      // counts only once its check decides.
      cache: { entries: 1, hits: 1, misses: 7, evictions: 0, hitRate: 1 / 8 },
      fallbacks: { allow_health_only: { circuit_open: 1, backend_error: 3, timeout: 0 } },
      backend: { calls: 6, errors: 3, latencyMs: { count: 6, sum: 40, max: 40 } },
      requestErrors: 1,
    });
    const decided = Object.values(stats.checks).reduce((n, c) => n + c.allowed + c.denied, 0);
    // Eight checks got a decision; the malformed ninth got an error, counted apart.
    expect(decided).toBe(8);
    expect((stats.cache?.hits ?? 0) + (stats.cache?.misses ?? 0)).toBe(decided);
  });

  it('reports no cache when the cache is off', async () => {
    const { service } = setup({ cache: false });
    await service.check(alice);
    expect(service.cache).toBeUndefined();
    expect(service.stats().cache).toBeUndefined();
  });
});

describe('AuthorizationService: registry, health, close', () => {
  it("registers its breaker as 'degraded': the registry reads degraded while it is open", async () => {
    const registry = new BreakerRegistry();
    const { checker, service } = setup({ registry, cache: false });
    expect(registry.health()).toEqual({
      status: 'healthy',
      breakers: [{ name: 'spicedb', state: 'closed', criticality: 'degraded', status: 'healthy' }],
    });
    checker.always = { kind: 'fail', error: connectionError() };
    for (let i = 0; i < 3; i++) await service.check(alice);
    expect(registry.health().status).toBe('degraded');
    service.close();
    service.close();
    expect(registry.has('spicedb')).toBe(false);
  });

  it('registers at the criticality asked, under the breaker name', () => {
    const registry = new BreakerRegistry();
    setup({ registry, criticality: 'critical', breaker: { name: 'permissions' } });
    expect(registry.health().breakers).toEqual([
      { name: 'permissions', state: 'closed', criticality: 'critical', status: 'healthy' },
    ]);
  });

  it("health() asks the checker around the breaker, within the breaker's timeout", async () => {
    const { checker, clock, service } = setup({ cache: false, breaker: { failureThreshold: 1 } });
    checker.always = { kind: 'fail', error: connectionError() };
    await service.check(alice);
    expect(service.breaker.state().name).toBe('open');
    await service.health();
    expect(checker.healthCalls).toBe(1);

    const down = connectionError();
    checker.healthStep = { kind: 'fail', error: down };
    expect(await rejectionOf(service.health())).toBe(down);

    checker.healthStep = { kind: 'hang' };
    const hung = service.health();
    clock.advance(2_000);
    const timeout = await rejectionOf(hung);
    expect(timeout).toMatchObject({ name: 'TimeoutError' });
    expect(String(timeout)).toContain('no answer within 2000 ms');
    expect(clock.pendingTimers).toBe(0);

    const controller = new AbortController();
    const aborted = service.health(controller.signal);
    const reason = new Error('shutting down');
    controller.abort(reason);
    expect(await rejectionOf(aborted)).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('health() with a signal that is not an AbortSignal rejects, never throws, and asks nobody', async () => {
    const { checker, service } = setup({ cache: false });
    let pending: Promise<void> | undefined;
    expect(() => {
      pending = service.health('soon' as unknown as AbortSignal);
    }).not.toThrow();
    const error = await rejectionOf(pending as Promise<void>);
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toContain('health(signal)');
    expect(checker.healthCalls).toBe(0);
  });

  it('close() leaves the checker alone: the caller owns it', async () => {
    let closed = false;
    const checker = Object.assign(new ScriptedChecker(), { close: () => (closed = true) });
    const { service } = setup({ checker });
    service.close();
    expect(closed).toBe(false);
  });
});

describe('AuthorizationService with its default cache', () => {
  it("shares the service's clock with the default cache and the breaker", async () => {
    const { checker, clock, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    clock.advance(299_999);
    expect((await service.check(alice)).source).toBe('cache');
    clock.advance(1);
    expect((await service.check(alice)).source).toBe('spicedb');
    expect(service.cache).toBeInstanceOf(DecisionCache);
  });

  it('takes a DecisionCache made elsewhere as it is', async () => {
    const cache = new DecisionCache();
    const { service } = setup({ cache });
    expect(service.cache).toBe(cache);
  });
});

describe('AuthorizationService decisions are never written over', () => {
  it('hands out frozen decisions a caller cannot turn into an allow', async () => {
    const { service } = setup();
    const decision: Decision = await service.check(bob);
    expect(() => {
      (decision as { allowed: boolean }).allowed = true;
    }).toThrow(TypeError);
    expect((await service.check(bob)).allowed).toBe(false);
  });
});

describe('AuthorizationService: freshness across consistencies and calls', () => {
  const fully = { ...alice, consistency: 'fully_consistent' } as const;
  const fresh = { ...alice, consistency: { atLeastAsFresh: 'zedtoken-1' } } as const;

  it('lets a fully_consistent or atLeastAsFresh deny remove the cached allow, and never fill the cache', async () => {
    for (const strict of [fully, fresh]) {
      const { checker, service } = setup({ cache: { cacheNegative: true } });
      checker.allow(alice.subject, alice.resource, alice.permission);
      expect(await service.check(strict)).toEqual(spicedbAllowed);
      expect(service.cache?.size).toBe(0); // a strict allow fills nothing
      await service.check(alice);
      expect(await service.check(alice)).toMatchObject({ source: 'cache', allowed: true });
      checker.allowed.clear(); // revoked
      expect(await service.check(strict)).toEqual(spicedbDenied);
      expect(await service.check(alice)).toEqual(spicedbDenied);
      expect(service.cache?.size).toBe(1); // the ordinary check's own deny, cacheNegative
    }
  });

  it('lets a strict deny in checkMany remove the cached allow', async () => {
    const checker = new ScriptedChecker().allow(alice.subject, alice.resource, alice.permission);
    const { service } = setup({ checker: withBulk(checker) });
    await service.check(alice);
    checker.allowed.clear();
    expect(await service.checkMany([fully, bob])).toEqual([spicedbDenied, spicedbDenied]);
    expect(await service.check(alice)).toEqual(spicedbDenied);
  });

  it("treats a check with no consistency as the checker's default: a strict default is never cached or shared", async () => {
    const scripted = new ScriptedChecker().allow(alice.subject, alice.resource, alice.permission);
    const checker: PermissionChecker = {
      consistency: 'fully_consistent',
      check: (req, signal) => scripted.check(req, signal),
      health: (signal) => scripted.health(signal),
    };
    const { service } = setup({ checker });
    await Promise.all([service.check(alice), service.check(alice)]);
    expect(await service.check(alice)).toEqual(spicedbAllowed);
    expect(scripted.calls).toHaveLength(3);
    expect(service.cache?.size).toBe(0);
    // Asking minimize_latency outright is cacheable, as the checker then sends that.
    const relaxed = { ...alice, consistency: 'minimize_latency' } as const;
    await service.check(relaxed);
    expect(await service.check(relaxed)).toMatchObject({ source: 'cache' });
    expect(() => setup({ checker: { ...checker, consistency: 'eventually' as never } })).toThrow(
      /option "checker" has consistency "eventually"/,
    );
  });

  it('never lets an older answer replace a newer one: a slow allow asked before a deny is not stored', async () => {
    const scripted = new ScriptedChecker();
    scripted.always = { kind: 'hold' };
    const { service } = setup({ checker: withBulk(scripted, () => Promise.resolve([false])) });
    const older = service.check(alice); // asked while alice could read
    expect(await service.checkMany([alice])).toEqual([spicedbDenied]); // asked after a revoke
    scripted.held[0]?.resolve(true);
    expect(await older).toEqual(spicedbAllowed);
    expect(service.cache?.getStale(alice)).toBeUndefined();
    scripted.always = undefined;
    expect(await service.check(alice)).toMatchObject({ source: 'spicedb' });
  });

  it('measures a cached answer from when it was asked, not when it came back', async () => {
    const { checker, clock, service } = setup();
    checker.script.push({ kind: 'hold' });
    const slow = service.check(alice);
    clock.advance(1_500);
    checker.held[0]?.resolve(true);
    await slow;
    clock.advance(300_000 - 1_500 - 1);
    expect(await service.check(alice)).toMatchObject({ source: 'cache' });
    clock.advance(1);
    expect(await service.check(alice)).toMatchObject({ source: 'spicedb' });
  });
});

describe('AuthorizationService: failures the caller did not cause', () => {
  function cancelledByServer(): Error {
    return Object.assign(new Error('SpiceDB CheckPermission failed: CANCELLED: context canceled'), {
      category: 'cancelled',
    });
  }

  it('counts a CANCELLED nobody asked for and lets the fallback answer it, in check and checkMany', async () => {
    const { checker, service } = setup();
    checker.always = { kind: 'fail', error: cancelledByServer() };
    expect(await service.check(alice)).toMatchObject({
      allowed: false,
      source: 'fallback',
      reason: 'backend_error',
    });
    expect(await service.checkMany([bob])).toEqual([
      { allowed: false, source: 'fallback', reason: 'backend_error', strategy: 'deny_all' },
    ]);
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 2 });
    expect(service.stats().backend).toMatchObject({ calls: 2, errors: 2 });
  });

  it('answers with the fallback when the failure policy throws, as the breaker counted it', async () => {
    const { checker, logger, service } = setup({
      cache: false,
      breaker: { failurePolicy: (e) => (e as { cause: { code: string } }).cause.code !== 'X' },
    });
    checker.always = { kind: 'fail', error: connectionError() };
    expect(await service.check(alice)).toMatchObject({
      source: 'fallback',
      reason: 'backend_error',
    });
    expect(logger.lines.map((l) => l.message)).toContain(
      'the failure policy threw; the error counts as a failure',
    );
    expect(service.breaker.state()).toEqual({ name: 'closed', failureCount: 1 });
  });

  it('frees a shared call whose error cannot be read, answers every caller, and asks again later', async () => {
    const hostile = new Proxy(new Error('backend down'), {
      get(target, key) {
        if (key === 'code' || key === 'category') throw new Error('getter threw');
        return Reflect.get(target, key);
      },
    });
    // With a backendError listener, the service itself classifies the error, and that throws.
    for (const listening of [false, true]) {
      const { checker, service } = setup();
      if (listening) service.on('backendError', () => {});
      checker.script.push({ kind: 'fail', error: hostile });
      const signalled = service.check({ ...alice, signal: new AbortController().signal });
      const plain = service.check(alice);
      for (const decision of [await plain, await signalled])
        expect(decision).toMatchObject({ allowed: false, source: 'fallback' });
      expect(await service.check(alice)).toMatchObject({ source: 'spicedb', allowed: false });
      expect(checker.calls).toHaveLength(2);
    }
  });

  it('denies, and handles the rejection of, a fallback decider that answers a promise', async () => {
    let handled = false;
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: the point is a promise-like answer
      then(_ok: unknown, onRejected: unknown): void {
        handled = typeof onRejected === 'function';
      },
    };
    const { checker, logger, service } = setup({
      fallback: { name: 'mine', decide: () => thenable as never },
    });
    checker.always = { kind: 'fail', error: connectionError() };
    expect(await service.check(alice)).toEqual({
      allowed: false,
      source: 'fallback',
      reason: 'backend_error',
      strategy: 'mine',
    });
    expect(handled).toBe(true);
    expect(logger.lines.at(-1)?.message).toMatch(/fallback strategy "mine" answered an object/);
  });
});

describe('AuthorizationService: what listeners and errors are told', () => {
  /** A check whose subject reads `first` once, then `later` on every read after. */
  function shifting(first: string, later: string): CheckRequest {
    let reads = 0;
    return {
      get subject() {
        return reads++ === 0 ? first : later;
      },
      resource: alice.resource,
      permission: alice.permission,
    };
  }

  it('tells decision listeners of a cache hit a frozen copy of what was decided', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    await service.check(alice);
    const heard: CheckRequest[] = [];
    service.on('decision', (e) => heard.push(e.request));
    const input = { ...alice, signal: new AbortController().signal };
    await service.check(input);
    await service.check(shifting('user:alice', 'user:mallory'));
    expect(heard).toEqual([alice, alice]);
    expect(heard[0]).not.toBe(input);
    expect(heard.every((r) => Object.isFrozen(r))).toBe(true);
  });

  it('gives listeners and the checker a frozen consistency of their own', async () => {
    const { checker, service } = setup();
    const heard: CheckRequest[] = [];
    service.on('decision', (e) => heard.push(e.request));
    const consistency = { atLeastAsFresh: 'zedtoken-1' };
    await service.check({ ...alice, consistency });
    consistency.atLeastAsFresh = 'changed';
    expect(heard[0]?.consistency).toEqual({ atLeastAsFresh: 'zedtoken-1' });
    expect(Object.isFrozen(heard[0]?.consistency)).toBe(true);
    expect(checker.calls[0]?.consistency).toEqual({ atLeastAsFresh: 'zedtoken-1' });
  });

  it('puts in ForbiddenError the check that was denied, read once', async () => {
    const { checker, service } = setup();
    checker.allow(alice.subject, alice.resource, alice.permission);
    const error = await rejectionOf(service.require(shifting('user:bob', 'user:alice')));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).request).toEqual(bob);
    expect(checker.calls.map((c) => c.subject)).toEqual(['user:bob']);
  });

  it('refuses a hole in checkMany as AuthorizationRequestError naming checks[i], counted, before any lookup', async () => {
    const { checker, service } = setup();
    service.cache?.set(alice, true);
    /** `checks` with holes where `undefined` stands: no value there at all, as in `[, a]`. */
    const holey = (...checks: (CheckInput | undefined)[]): CheckInput[] => {
      const out = new Array<CheckInput>(checks.length);
      checks.forEach((c, i) => {
        if (c !== undefined) out[i] = c;
      });
      return out;
    };
    const cases: [CheckInput[], number][] = [
      [holey(undefined, alice), 0],
      [holey(alice, undefined, bob), 1],
      [holey(undefined, undefined), 0],
    ];
    for (const [checks, at] of cases) {
      expect(at in checks).toBe(false);
      const error = await rejectionOf(service.checkMany(checks));
      expect(error).toBeInstanceOf(AuthorizationRequestError);
      expect(String((error as Error).message)).toContain(`checks[${at}]`);
    }
    expect(service.stats().requestErrors).toBe(3);
    expect(service.stats().checks.cache).toEqual({ allowed: 0, denied: 0 });
    expect(checker.calls).toHaveLength(0);
  });

  it('refuses to store in a shared cache a check the service would refuse', async () => {
    const cache = new DecisionCache({ clock: new ManualClock(0) });
    const { service } = setup({ cache });
    expect(() => cache.set({ ...alice, subject: 'user:*' }, true)).toThrow(
      AuthorizationRequestError,
    );
    expect(await rejectionOf(service.check({ ...alice, subject: 'user:*' }))).toBeInstanceOf(
      AuthorizationRequestError,
    );
  });
});

describe('AuthorizationService.require reads the check as check() does', () => {
  it('refuses in require() what check() refuses, an unknown consistency key included, counted once', async () => {
    const { checker, service } = setup();
    const odd = { ...alice, consistency: { atLeastAsFresh: 'zedtoken-1', fresh: true } };
    for (const attempt of [service.check(odd as never), service.require(odd as never)])
      expect(String(await rejectionOf(attempt))).toContain('unknown key "fresh"');
    expect(service.stats().requestErrors).toBe(2);
    expect(checker.calls).toHaveLength(0);
  });
});

describe('AuthorizationService when the cache fails', () => {
  it('still answers when the cache throws on storing, logs it, and frees the shared call', async () => {
    class BrokenCache extends DecisionCache {
      override set(): void {
        throw new Error('disk full');
      }
    }
    const { checker, logger, service } = setup({ cache: new BrokenCache() });
    checker.allow(alice.subject, alice.resource, alice.permission);
    const signalled = service.check({ ...alice, signal: new AbortController().signal });
    expect(await service.check(alice)).toEqual(spicedbAllowed);
    expect(await signalled).toEqual(spicedbAllowed);
    expect(await service.check(alice)).toEqual(spicedbAllowed);
    expect(checker.calls).toHaveLength(2);
    expect(logger.lines.at(-1)).toMatchObject({
      level: 'error',
      message: 'the decision cache could not store an answer; it is not cached',
    });
  });
});
