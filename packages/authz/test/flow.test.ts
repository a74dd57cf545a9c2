import { v1 } from '@authzed/authzed-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '../src/embedded/index.js';
import { parseRelationship } from '../src/embedded/relationship.js';
import { AuthorizationRequestError, ForbiddenError, UnauthenticatedError } from '../src/errors.js';
import type { CheckRequest, PermissionChecker } from '../src/types.js';
import { FAST_BREAKER, type RealStack, type StackOptions, startStack } from './real-stack.js';
import { RELATIONSHIPS, SCHEMA, untilSeen } from './spicedb.js';

// A server started empty: the schema and the data go in through SpiceDB's own API, as an
// application's would, rather than through the embedded server's start options. SpiceDB does not
// promise that a minimize_latency check (the default) sees a write at once, so each write a test
// goes on to check that way is waited for with untilSeen first.
let server: EmbeddedSpiceDb;
let client: v1.ZedClientInterface;

beforeAll(async () => {
  server = await startEmbeddedSpiceDb();
  client = v1.NewClient(
    server.token,
    server.endpoint,
    v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
  );
  await client.promises.writeSchema({ schema: SCHEMA });
  await client.promises.writeRelationships({
    updates: RELATIONSHIPS.map((text, i) => ({
      operation: v1.RelationshipUpdate_Operation.TOUCH,
      relationship: v1.Relationship.create(parseRelationship('flow', `RELATIONSHIPS[${i}]`, text)),
    })),
    optionalPreconditions: [],
  });
  await untilSeen(client, RELATIONSHIPS.at(-1) as string, true);
}, 30_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

const stacks: RealStack[] = [];
afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.close();
});

async function stack(options: StackOptions = {}): Promise<RealStack> {
  const made = await startStack(server, { breaker: FAST_BREAKER, ...options });
  stacks.push(made);
  return made;
}

/** The calls the service makes to the real checker, by method. */
function counting(calls: { check: number; checkMany: CheckRequest[][] }) {
  return (inner: PermissionChecker): PermissionChecker => ({
    check(req, signal) {
      calls.check++;
      return inner.check(req, signal);
    },
    checkMany(reqs, signal) {
      calls.checkMany.push([...reqs]);
      return (inner.checkMany as NonNullable<PermissionChecker['checkMany']>)(reqs, signal);
    },
    health: (signal) => inner.health(signal),
  });
}

const ask = (subject: string, permission: string, resource: string): CheckRequest => ({
  subject,
  resource,
  permission,
});

/** Writes (TOUCH) or deletes one relationship, in zed's syntax, through SpiceDB's API. */
function writeRelationship(
  operation: v1.RelationshipUpdate_Operation,
  text: string,
): Promise<v1.WriteRelationshipsResponse> {
  return client.promises.writeRelationships({
    updates: [
      {
        operation,
        relationship: v1.Relationship.create(parseRelationship('flow', 'update', text)),
      },
    ],
    optionalPreconditions: [],
  });
}

describe('the is_authorized flow against a real SpiceDB', () => {
  it('answers real allows and denies from the schema and data written through the API', async () => {
    const { service } = await stack({ cache: false });
    const cases: [CheckRequest, boolean][] = [
      [ask('user:bob', 'view', 'tenant:acme'), true],
      [ask('user:alice', 'view', 'tenant:acme'), true],
      [ask('user:dave', 'view', 'tenant:acme'), false],
      [ask('user:alice', 'manage', 'tenant:acme'), true],
      [ask('user:bob', 'manage', 'tenant:acme'), false],
      [ask('user:alice', 'write', 'document:plan'), true],
      [ask('user:bob', 'write', 'document:plan'), false],
      [ask('user:bob', 'read', 'document:plan'), true],
      [ask('user:carol', 'read', 'document:plan'), false],
      [ask('user:dave', 'read', 'health:status'), true],
      // Nobody wrote anything about this user: only the wildcard lets it read.
      [ask('user:nobody_known', 'read', 'health:status'), true],
      [ask('user:nobody_known', 'read', 'document:notes'), false],
    ];
    for (const [req, allowed] of cases) {
      await expect(service.check(req), JSON.stringify(req)).resolves.toEqual({
        allowed,
        source: 'spicedb',
        reason: allowed ? 'has_permission' : 'no_permission',
      });
    }
    expect(service.stats().checks.spicedb).toEqual({ allowed: 7, denied: 5 });
  });

  it('require() resolves on allow, throws ForbiddenError on deny and UnauthenticatedError without a subject', async () => {
    const { service, traffic } = await stack();
    await expect(service.require(ask('user:alice', 'write', 'document:plan'))).resolves.toEqual({
      allowed: true,
      source: 'spicedb',
      reason: 'has_permission',
    });
    const forbidden = await service.require(ask('user:bob', 'write', 'document:plan')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect(forbidden).toMatchObject({
      code: 'BREAKWATER_FORBIDDEN',
      decision: { allowed: false, source: 'spicedb', reason: 'no_permission' },
      request: ask('user:bob', 'write', 'document:plan'),
    });
    const before = traffic();
    for (const subject of ['', undefined]) {
      await expect(
        service.require({ subject, resource: 'document:plan', permission: 'read' } as CheckRequest),
      ).rejects.toBeInstanceOf(UnauthenticatedError);
    }
    // Nobody signed in is not a question for SpiceDB.
    expect(traffic()).toEqual(before);
  });

  it('checkMany answers in the order asked with one bulk call for the uncached checks', async () => {
    const calls = { check: 0, checkMany: [] as CheckRequest[][] };
    const { service } = await stack({ wrap: counting(calls) });
    await service.check(ask('user:bob', 'read', 'document:plan'));
    expect(calls.check).toBe(1);

    const asked = [
      ask('user:carol', 'read', 'document:plan'),
      ask('user:bob', 'read', 'document:plan'),
      ask('user:carol', 'read', 'document:notes'),
      ask('user:dave', 'read', 'health:status'),
      ask('user:carol', 'read', 'document:plan'),
      ask('user:bob', 'write', 'document:plan'),
    ];
    const decisions = await service.checkMany(asked);
    expect(decisions.map((d) => [d.allowed, d.source])).toEqual([
      [false, 'spicedb'],
      [true, 'cache'],
      [true, 'spicedb'],
      [true, 'spicedb'],
      [false, 'spicedb'],
      [false, 'spicedb'],
    ]);
    // One round trip, the cached check and the repeated one not asked again.
    expect(calls.check).toBe(1);
    expect(calls.checkMany).toEqual([
      [asked[0], asked[2], asked[3], asked[5]].map((req) => ({ ...req })),
    ]);
  });

  it('concurrent identical checks share one call to SpiceDB', async () => {
    const calls = { check: 0, checkMany: [] as CheckRequest[][] };
    const { service } = await stack({ wrap: counting(calls) });
    const req = ask('user:carol', 'read', 'document:notes');
    const decisions = await Promise.all(Array.from({ length: 200 }, () => service.check(req)));
    expect(calls.check).toBe(1);
    expect(new Set(decisions.map((d) => `${d.allowed} ${d.source}`))).toEqual(
      new Set(['true spicedb']),
    );
    expect(service.stats().backend.calls).toBe(1);
  });

  it('a permission the schema lacks is an AuthorizationRequestError: not counted, not a fallback', async () => {
    const { service } = await stack();
    const fallbacks: unknown[] = [];
    service.on('fallback', (event) => fallbacks.push(event));
    for (let i = 0; i < 10; i++) {
      const error = await service.check(ask('user:alice', 'delete', 'document:plan')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(AuthorizationRequestError);
      expect((error as Error).message).toMatch(/FAILED_PRECONDITION.*delete/);
    }
    expect(service.breaker.state().name).toBe('closed');
    expect(fallbacks).toEqual([]);
    const stats = service.stats();
    expect(stats.requestErrors).toBe(10);
    expect(stats.backend.errors).toBe(0);
    expect(stats.checks.fallback).toEqual({ allowed: 0, denied: 0 });
    // The breaker still admits real checks and SpiceDB still answers them.
    await expect(service.check(ask('user:alice', 'read', 'document:plan'))).resolves.toMatchObject({
      allowed: true,
      source: 'spicedb',
    });
  });

  it('a relationship written and then checked fully_consistent is seen', async () => {
    const calls = { check: 0, checkMany: [] as CheckRequest[][] };
    const { service } = await stack({ wrap: counting(calls) });
    const fresh = {
      ...ask('user:erin', 'read', 'document:notes'),
      consistency: 'fully_consistent',
    } as const;
    await expect(service.check(fresh)).resolves.toMatchObject({ allowed: false });
    await writeRelationship(
      v1.RelationshipUpdate_Operation.TOUCH,
      'document:notes#reader@user:erin',
    );
    await expect(service.check(fresh)).resolves.toEqual({
      allowed: true,
      source: 'spicedb',
      reason: 'has_permission',
    });
    // Both asked SpiceDB: a fully consistent check never takes the cache's word.
    expect(calls.check).toBe(2);
  });

  it('a fully_consistent check after a delete is not answered by the cached allow', async () => {
    const { service } = await stack();
    await writeRelationship(
      v1.RelationshipUpdate_Operation.TOUCH,
      'document:notes#reader@user:gina',
    );
    await untilSeen(client, 'document:notes#reader@user:gina', true);
    const req = ask('user:gina', 'read', 'document:notes');
    await expect(service.check(req)).resolves.toMatchObject({ allowed: true, source: 'spicedb' });
    await writeRelationship(
      v1.RelationshipUpdate_Operation.DELETE,
      'document:notes#reader@user:gina',
    );
    // Not waited for: only a fully consistent read is promised the delete, and that is the point.
    await expect(service.check({ ...req, consistency: 'fully_consistent' })).resolves.toEqual({
      allowed: false,
      source: 'spicedb',
      reason: 'no_permission',
    });
  });

  // 30 s: two waits of up to 10 s each (the write, then the delete) would not fit in vitest's 20.
  it('after a relationship is deleted, invalidateSubject makes the next check give the new answer', async () => {
    const { service } = await stack();
    const cache = service.cache as NonNullable<typeof service.cache>;
    await writeRelationship(
      v1.RelationshipUpdate_Operation.TOUCH,
      'document:notes#reader@user:frank',
    );
    await untilSeen(client, 'document:notes#reader@user:frank', true);
    const req = ask('user:frank', 'read', 'document:notes');
    await expect(service.check(req)).resolves.toMatchObject({ allowed: true, source: 'spicedb' });
    await expect(service.check(req)).resolves.toMatchObject({ allowed: true, source: 'cache' });

    await client.promises.deleteRelationships(
      v1.DeleteRelationshipsRequest.create({
        relationshipFilter: {
          resourceType: 'document',
          optionalResourceId: 'notes',
          optionalRelation: 'reader',
          optionalSubjectFilter: { subjectType: 'user', optionalSubjectId: 'frank' },
        },
      }),
    );
    await untilSeen(client, 'document:notes#reader@user:frank', false);
    // SpiceDB's own reads see the delete now; the cache cannot know of it and still answers from
    // what SpiceDB said before.
    await expect(service.check(req)).resolves.toMatchObject({ allowed: true, source: 'cache' });
    expect(cache.invalidateSubject('user:frank')).toBe(1);
    await expect(service.check(req)).resolves.toEqual({
      allowed: false,
      source: 'spicedb',
      reason: 'no_permission',
    });
  }, 30_000);
});
