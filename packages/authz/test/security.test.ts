import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { checkKey } from '../src/cache-key.js';
import { DecisionCache } from '../src/decision-cache.js';
import { startEmbeddedSpiceDb } from '../src/embedded/index.js';
import { AuthorizationRequestError } from '../src/errors.js';
import { FallbackStrategy } from '../src/fallback.js';
import type { CheckRequest, Decision } from '../src/types.js';
import { CapturingLogger } from './capturing-logger.js';
import {
  FAST_BREAKER,
  type RealStack,
  type StackOptions,
  sleep,
  startStack,
} from './real-stack.js';
import { RELATIONSHIPS, SCHEMA, useSpiceDb } from './spicedb.js';

const spicedb = useSpiceDb();

const stacks: RealStack[] = [];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.close();
  for (const close of closers.splice(0).reverse()) await close();
});

// Short breaker timings (the guide's 2 s and 60 s would make an outage test slow); the guide's
// 3 failures to open.
async function stack(options: StackOptions = {}): Promise<RealStack> {
  const made = await startStack(spicedb(), { breaker: FAST_BREAKER, ...options });
  stacks.push(made);
  return made;
}

const ask = (subject: string, permission: string, resource: string): CheckRequest => ({
  subject,
  resource,
  permission,
});

/** Checks SpiceDB allows (see RELATIONSHIPS): what an outage must not hand out by accident. */
const ALLOWED: readonly CheckRequest[] = [
  ask('user:alice', 'write', 'document:plan'),
  ask('user:bob', 'read', 'document:plan'),
  ask('user:carol', 'read', 'document:notes'),
  ask('user:alice', 'manage', 'tenant:acme'),
  ask('user:bob', 'view', 'tenant:acme'),
  ask('user:dave', 'read', 'health:status'),
  { ...ask('user:bob', 'read', 'document:plan'), consistency: 'fully_consistent' },
];

function expectNothingAllowed(decisions: readonly Decision[], reasons: readonly string[]): void {
  for (const decision of decisions) {
    expect(decision.allowed).toBe(false);
    expect(decision.source).toBe('fallback');
    expect(decision.strategy).toBe('deny_all');
    expect(reasons).toContain(decision.reason);
  }
}

describe('denyAll: nothing is allowed while SpiceDB is down', () => {
  it('paused: every check denied, timed out and then circuit_open', async () => {
    const { service, proxy } = await stack({ cache: false });
    const real = await Promise.all(ALLOWED.map((req) => service.check(req)));
    expect(real.map((d) => d.allowed)).toEqual(ALLOWED.map(() => true));
    proxy.pause();
    const stalled = await Promise.all(ALLOWED.map((req) => service.check(req)));
    expectNothingAllowed(stalled, ['timeout']);
    expect(service.breaker.state().name).toBe('open');
    expectNothingAllowed(await Promise.all(ALLOWED.map((req) => service.check(req))), [
      'circuit_open',
    ]);
    expectNothingAllowed(await service.checkMany(ALLOWED), ['circuit_open']);
    expect(service.stats().checks.fallback.allowed).toBe(0);
  });

  it('killed: every check denied, backend_error and then circuit_open', async () => {
    const { service, proxy } = await stack({ cache: false });
    await expect(service.check(ALLOWED[0] as CheckRequest)).resolves.toMatchObject({
      allowed: true,
    });
    await proxy.kill();
    const decisions: Decision[] = [];
    for (const req of ALLOWED) decisions.push(await service.check(req));
    expectNothingAllowed(decisions.slice(0, 3), ['backend_error']);
    expectNothingAllowed(decisions.slice(3), ['circuit_open']);
    expectNothingAllowed(await service.checkMany(ALLOWED), ['circuit_open']);
  });
});

describe('useCachedRules: only what was allowed before comes back, never more', () => {
  it('a denied check and a never-checked one stay denied while SpiceDB is down', async () => {
    // Decisions answer for 1 ms: a moment later they are expired, so the checks below reach the
    // breaker and the fallback reads them as stale entries, which is the path under test.
    const { service, proxy } = await stack({
      cache: { ttl: 1, staleTtl: 60_000 },
      fallback: FallbackStrategy.useCachedRules(),
    });
    const allowedBefore = ask('user:bob', 'read', 'document:plan');
    const deniedBefore = ask('user:carol', 'read', 'document:plan');
    // SpiceDB would allow this one, but nobody asked before the outage.
    const neverChecked = ask('user:alice', 'write', 'document:plan');
    await expect(service.check(allowedBefore)).resolves.toMatchObject({ allowed: true });
    await expect(service.check(deniedBefore)).resolves.toMatchObject({ allowed: false });
    await sleep(5);
    await proxy.kill();

    const down = async () => ({
      allowedBefore: await service.check(allowedBefore),
      deniedBefore: await service.check(deniedBefore),
      neverChecked: await service.check(neverChecked),
      fresh: await service.check({ ...allowedBefore, consistency: 'fully_consistent' }),
    });
    for (const reason of ['backend_error', 'circuit_open']) {
      const decisions = await down();
      expect(decisions.allowedBefore).toMatchObject({ allowed: true, source: 'fallback' });
      expect(decisions.deniedBefore).toMatchObject({ allowed: false, source: 'fallback' });
      expect(decisions.neverChecked).toMatchObject({ allowed: false, source: 'fallback' });
      // A check that demanded fresh data gets no cached decision, not even an allow.
      expect(decisions.fresh).toMatchObject({ allowed: false, source: 'fallback' });
      for (const decision of Object.values(decisions)) {
        expect(decision.strategy).toBe('use_cached_rules');
        // The first round opens the breaker part way through (3 failures).
        expect(reason === 'circuit_open' ? [reason] : ['backend_error', 'circuit_open']).toContain(
          decision.reason,
        );
      }
    }
    expect(service.stats().checks.fallback).toEqual({ allowed: 2, denied: 6 });
  });
});

describe('tuples that collide under naive a:b:c joining', () => {
  const first = ask('user:a', 'read', 'b:c:d');
  const second = ask('user:a:b', 'read', 'c:d');

  it('get different DecisionCache entries, or none at all', () => {
    expect(`${first.subject}:${first.resource}:${first.permission}`).toBe(
      `${second.subject}:${second.resource}:${second.permission}`,
    );
    expect(checkKey(first)).not.toBe(checkKey(second));
    const cache = new DecisionCache({ cacheNegative: true });
    // A cache may refuse to store what SpiceDB could never have answered; what it does store,
    // it must keep apart.
    const stored = (req: CheckRequest, allowed: boolean): boolean => {
      try {
        cache.set(req, allowed);
        return true;
      } catch (error) {
        expect(error).toBeInstanceOf(AuthorizationRequestError);
        return false;
      }
    };
    const firstStored = stored(first, true);
    expect(cache.get(second)).toBeUndefined();
    expect(cache.getStale(second)).toBeUndefined();
    const secondStored = stored(second, false);
    expect(cache.get(first)).toBe(firstStored ? true : undefined);
    expect(cache.get(second)).toBe(secondStored ? false : undefined);
    expect(cache.stats().entries).toBe(Number(firstStored) + Number(secondStored));
  });

  it('valid tuples that collide under a naive join on "/", "#" or "_" get different entries', () => {
    // SpiceDB ids may hold "/" and "_", and object types may be namespaced: valid checks that
    // a key joined with one of those would confuse.
    const colliding: CheckRequest[][] = [
      [ask('user:a', 'read', 'team/doc:x'), ask('user:a/team', 'read', 'doc:x')],
      [
        ask('group:eng#member', 'read', 'document:x'),
        ask('group:eng', 'read', 'member#document:x'),
      ],
      [ask('user:a', 'write', 'doc:x_read'), ask('user:a', 'read_write', 'doc:x')],
    ];
    const cache = new DecisionCache({ cacheNegative: true });
    let entries = 0;
    for (const [allowed, denied] of colliding as [CheckRequest, CheckRequest][]) {
      let valid = true;
      try {
        cache.set(allowed, true);
        cache.set(denied, false);
      } catch (error) {
        // The "#" pair's second tuple is no valid resource: only its first goes in.
        expect(error).toBeInstanceOf(AuthorizationRequestError);
        valid = false;
      }
      entries += valid ? 2 : 1;
      expect(cache.get(allowed)).toBe(true);
      expect(cache.get(denied)).toBe(valid ? false : undefined);
      expect(checkKey(allowed)).not.toBe(checkKey(denied));
    }
    expect(cache.stats().entries).toBe(entries);
    // Other separators and length-prefix look-alikes: all distinct keys.
    const tricky = [
      first,
      second,
      ask('user:a', 'read', 'b#c:d'),
      ask('user:a#b', 'read', 'c:d'),
      ask('6:user:a', 'read', 'x:y'),
      ask('user:a6', 'read', ':x:y'),
      ask('user:a', 'read:b', 'c:d'),
      ask('user:a', 'read', 'b:c:d:'),
      ...colliding.flat(),
    ];
    expect(new Set(tricky.map(checkKey)).size).toBe(tricky.length);
  });

  it('never meet in the service: the validator refuses both before they reach SpiceDB', async () => {
    const { service, traffic } = await stack({ cache: { cacheNegative: true }, connect: false });
    // A colon is neither in an object type nor in an id, so the colliding strings are malformed.
    for (const [req, field] of [
      [first, 'resource'],
      [second, 'subject'],
    ] as const) {
      await expect(service.check(req)).rejects.toMatchObject({
        name: 'AuthorizationRequestError',
        field,
      });
    }
    expect(traffic()).toEqual({ connections: 0, bytes: 0 });
    expect(service.cache?.stats().entries).toBe(0);
  });
});

/** 50 checks SpiceDB would refuse: malformed subjects and resources of every kind. */
function malformedChecks(): { req: CheckRequest; field: 'subject' | 'resource' }[] {
  const subjects = [
    '',
    'user',
    'user:',
    ':alice',
    'User:alice',
    'user:al ice',
    'user:alice#',
    'user:alice#Reader',
    'user:*',
    'user:a:b',
    'u:alice',
    'user:ali\u00e9ce',
    'user:alice\n',
    `user:${'a'.repeat(1_025)}`,
    'user:alice#member#x',
    'user_:alice',
    '1user:alice',
    'user:alice;drop',
    'user:"alice"',
    'user:alice@x',
    'user:ali%63e',
    'user:\u0000',
    ' user:alice',
    'user:a*',
    `${'t'.repeat(70)}:alice`,
  ];
  const resources = [
    '',
    'document',
    'document:',
    ':plan',
    'Document:plan',
    'document:*',
    'document:plan#reader',
    'document:pl an',
    'document:a:b',
    'd:plan',
    'document:pl\u00e4n',
    'document:plan\t',
    `document:${'p'.repeat(1_025)}`,
    'document_:plan',
    '9document:plan',
    'document:plan?x=1',
    'document:"plan"',
    'document:plan@user',
    'document:pl%61n',
    'document:\u0000',
    'document :plan',
    'document:p*',
    `${'d'.repeat(70)}:plan`,
    'document/:plan',
    '/document:plan',
  ];
  return [
    ...subjects.map((subject) => ({
      req: ask(subject, 'read', 'document:plan'),
      field: 'subject' as const,
    })),
    ...resources.map((resource) => ({
      req: ask('user:alice', 'read', resource),
      field: 'resource' as const,
    })),
  ];
}

describe('a malformed subject or resource never reaches SpiceDB', () => {
  it('50 malformed checks on a fresh proxy and checker: no connection, no byte', async () => {
    const { service, traffic } = await stack({ connect: false });
    const malformed = malformedChecks();
    expect(malformed).toHaveLength(50);
    for (const { req, field } of malformed) {
      const error = await service.check(req).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, JSON.stringify(req)).toBeInstanceOf(AuthorizationRequestError);
      expect((error as AuthorizationRequestError).field, JSON.stringify(req)).toBe(field);
    }
    await expect(service.checkMany(malformed.map(({ req }) => req))).rejects.toBeInstanceOf(
      AuthorizationRequestError,
    );
    await sleep(20);
    expect(traffic()).toEqual({ connections: 0, bytes: 0 });
    expect(service.stats().backend.calls).toBe(0);
    expect(service.stats().requestErrors).toBe(51);

    // The counters do see a real check.
    await service.check(ask('user:alice', 'read', 'document:plan'));
    expect(traffic().connections).toBe(1);
    expect(traffic().bytes).toBeGreaterThan(0);
  });
});

/** Everything an error shows a person or a log: message, stack, causes, JSON, inspect. */
function everythingShown(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let at: unknown = error; at !== undefined && !seen.has(at); ) {
    seen.add(at);
    if (at instanceof Error) {
      parts.push(at.message, at.stack ?? '');
      if (at instanceof AggregateError) parts.push(...at.errors.map(everythingShown));
    }
    parts.push(
      JSON.stringify(at) ?? '',
      inspect(at, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    );
    at = typeof at === 'object' && at !== null ? (at as { cause?: unknown }).cause : undefined;
  }
  return parts.join('\n');
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => new Error(`expected a rejection, got ${String(value)}`),
    (error: unknown) => error,
  );

describe('the token appears nowhere', () => {
  it('not in logs, errors, decisions, nor util.inspect of the checker, the service or the embedded handle', async () => {
    const token = `secret-${randomBytes(12).toString('hex')}`;
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    const serverLog = new CapturingLogger();
    const server = await startEmbeddedSpiceDb({
      schema: SCHEMA,
      relationships: RELATIONSHIPS,
      token,
      logger: serverLog,
    });
    closers.push(() => server.close());
    expect(server.token).toBe(token);

    const log = new CapturingLogger();
    const good = await startStack(server, { breaker: FAST_BREAKER, logger: log, cache: false });
    const bad = await startStack(server, {
      breaker: FAST_BREAKER,
      logger: log,
      cache: false,
      token: wrong,
    });
    stacks.push(good, bad);
    const req = ask('user:bob', 'read', 'document:plan');
    const decisions: Decision[] = [await good.service.check(req)];
    expect(decisions[0]).toMatchObject({ allowed: true, source: 'spicedb' });

    // A wrong token: SpiceDB refuses it, the checker says so, the service logs a configuration
    // problem and falls back.
    const refused = await rejection(bad.checker.check(req, new AbortController().signal));
    // SpiceDB answers PERMISSION_DENIED to a key it does not know (UNAUTHENTICATED to none).
    expect(refused).toMatchObject({ configuration: true, category: 'unavailable' });
    expect(['UNAUTHENTICATED', 'PERMISSION_DENIED']).toContain(
      (refused as { grpcStatus: string }).grpcStatus,
    );
    for (let i = 0; i < 4; i++) decisions.push(await bad.service.check(req));
    expect(decisions.slice(1).map((d) => d.reason)).toEqual([
      'backend_error',
      'backend_error',
      'backend_error',
      'circuit_open',
    ]);
    expect(log.text()).toMatch(/SpiceDB refused our credentials/);

    // The server gone: UNAVAILABLE, with the good token in the call's metadata.
    await good.proxy.kill();
    const unavailable = await rejection(good.checker.check(req, new AbortController().signal));
    expect(unavailable).toMatchObject({ grpcStatus: 'UNAVAILABLE' });
    const healthError = await rejection(good.service.health());
    for (let i = 0; i < 3; i++) decisions.push(await good.service.check(req));
    expect(good.service.breaker.state().name).toBe('open');

    const shown = [
      everythingShown(refused),
      everythingShown(unavailable),
      everythingShown(healthError),
      JSON.stringify(decisions),
      inspect(decisions, { depth: Number.POSITIVE_INFINITY }),
      log.text(),
      serverLog.text(),
      ...[good.checker, bad.checker, good.service, bad.service, server].map(
        (value) =>
          `${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })}\n${JSON.stringify(value, safeCircular())}`,
      ),
    ];
    expect(serverLog.entries.length).toBeGreaterThan(0);
    for (const text of shown) {
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain(token);
      expect(text).not.toContain(wrong);
    }
    // The token is given out where it is asked for, and only there.
    expect(server.token).toBe(token);
  });
});

/** JSON.stringify replacer that writes a repeated object once (a client holds cycles). */
function safeCircular(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[seen]';
      seen.add(value);
    }
    return typeof value === 'bigint' ? String(value) : value;
  };
}
