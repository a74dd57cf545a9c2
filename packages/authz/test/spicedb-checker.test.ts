import { connect, createServer, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { v1 } from '@authzed/authzed-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationRequestError } from '../src/errors.js';
import { SpiceDbChecker } from '../src/spicedb-checker.js';
import { SpiceDbError } from '../src/spicedb-error.js';
import type { CheckRequest } from '../src/types.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { useSpiceDb } from './spicedb.js';

const spicedb = useSpiceDb();
const never = new AbortController().signal;
const TIMEOUT = 300;

const read = (subject: string, resource: string): CheckRequest => ({
  subject,
  resource,
  permission: 'read',
});

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => new Error(`expected a rejection, got ${String(value)}`),
    (error) => error,
  );

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function checker(endpoint = spicedb().endpoint, token = spicedb().token, timeout = 2_000) {
  const made = new SpiceDbChecker({ endpoint, token, insecure: true, timeout });
  closers.push(() => made.close());
  return made;
}

describe('SpiceDbChecker against a real SpiceDB', () => {
  it('allows owners and readers and denies strangers', async () => {
    const check = checker();
    await expect(check.check(read('user:alice', 'document:plan'), never)).resolves.toBe(true);
    await expect(check.check(read('user:bob', 'document:plan'), never)).resolves.toBe(true);
    await expect(check.check(read('user:carol', 'document:plan'), never)).resolves.toBe(false);
    await expect(check.check(read('user:dave', 'document:notes'), never)).resolves.toBe(false);
    await expect(
      check.check({ subject: 'user:alice', resource: 'tenant:acme', permission: 'manage' }, never),
    ).resolves.toBe(true);
    await expect(check.check(read('user:dave', 'health:status'), never)).resolves.toBe(true);
  });

  it('answers a bulk check in the order asked', async () => {
    const answers = await checker().checkMany(
      [
        read('user:carol', 'document:plan'),
        read('user:alice', 'document:plan'),
        read('user:carol', 'document:notes'),
        read('user:dave', 'document:notes'),
        { subject: 'user:bob', resource: 'document:plan', permission: 'write' },
      ],
      never,
    );
    expect(answers).toEqual([false, true, true, false, false]);
  });

  it('sees a write with fully_consistent and with atLeastAsFresh its zedtoken', async () => {
    const client = v1.NewClient(
      spicedb().token,
      spicedb().endpoint,
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
    closers.push(() => client.close());
    const write = (resourceId: string, subjectId: string) =>
      client.promises.writeRelationships({
        updates: [
          {
            operation: v1.RelationshipUpdate_Operation.TOUCH,
            relationship: {
              resource: { objectType: 'document', objectId: resourceId },
              relation: 'reader',
              subject: {
                object: { objectType: 'user', objectId: subjectId },
                optionalRelation: '',
              },
            },
          },
        ],
        optionalPreconditions: [],
      });
    const check = checker();
    await expect(check.check(read('user:erin', 'document:fresh'), never)).resolves.toBe(false);
    await write('fresh', 'erin');
    await expect(
      check.check(
        { ...read('user:erin', 'document:fresh'), consistency: 'fully_consistent' },
        never,
      ),
    ).resolves.toBe(true);
    const written = await write('fresh2', 'frank');
    const token = written.writtenAt?.token as string;
    expect(token.length).toBeGreaterThan(0);
    const fresh = {
      ...read('user:frank', 'document:fresh2'),
      consistency: { atLeastAsFresh: token },
    };
    await expect(check.check(fresh, never)).resolves.toBe(true);
    await expect(
      check.checkMany([fresh, read('user:erin', 'document:fresh')], never),
    ).resolves.toEqual([true, true]);
  });

  it('refuses a permission the schema lacks with an AuthorizationRequestError in SpiceDB words', async () => {
    const check = checker();
    const error = await rejection(
      check.check({ subject: 'user:alice', resource: 'document:plan', permission: 'nope' }, never),
    );
    expect(error).toBeInstanceOf(AuthorizationRequestError);
    expect((error as Error).message).toContain('nope');
    expect((error as AuthorizationRequestError).field).toBe('request');
    const bulk = await rejection(
      check.checkMany(
        [
          read('user:alice', 'document:plan'),
          { ...read('user:alice', 'document:plan'), permission: 'nope' },
        ],
        never,
      ),
    );
    expect(bulk).toBeInstanceOf(AuthorizationRequestError);
    expect((bulk as Error).message).toContain('check 1');
  });

  it('reports a wrong token as a configuration problem and never shows it', async () => {
    const wrong = 'not-the-key-4e1d';
    const check = checker(spicedb().endpoint, wrong);
    for (const call of [
      () => check.check(read('user:alice', 'document:plan'), never),
      () => check.checkMany([read('user:alice', 'document:plan')], never),
      () => check.health(never),
    ]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(SpiceDbError);
      expect(error).toMatchObject({ configuration: true, category: 'unavailable' });
      const shown = `${inspect(error, { showHidden: true, depth: 10 })} ${JSON.stringify(error)}`;
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(spicedb().token);
    }
    const shown = inspect(check, { showHidden: true, showProxy: true, depth: 10 });
    expect(shown).not.toContain(wrong);
  });

  it('is healthy when SpiceDB answers', async () => {
    await expect(checker().health(never)).resolves.toBeUndefined();
  });
});

describe('SpiceDbChecker through a fault proxy', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: spicedb().endpoint });
  });
  afterAll(async () => {
    await proxy.close();
  });
  afterEach(() => proxy.pass());

  it('ends a check at its deadline when SpiceDB stalls, with a timeout', async () => {
    const check = checker(proxy.endpoint, spicedb().token, TIMEOUT);
    await expect(check.check(read('user:alice', 'document:plan'), never)).resolves.toBe(true);
    proxy.pause();
    for (const call of [
      () => check.check(read('user:alice', 'document:plan'), never),
      () => check.health(never),
    ]) {
      const started = Date.now();
      const error = await rejection(call());
      expect(Date.now() - started).toBeLessThan(TIMEOUT + 100);
      expect(error).toMatchObject({ grpcStatus: 'DEADLINE_EXCEEDED', category: 'timeout' });
    }
    proxy.pass();
    await expect(check.check(read('user:alice', 'document:plan'), never)).resolves.toBe(true);
  });

  it('ends the call at once when the signal aborts', async () => {
    const check = checker(proxy.endpoint, spicedb().token, 10_000);
    await check.health(never);
    proxy.pause();
    const controller = new AbortController();
    const pending = rejection(check.check(read('user:alice', 'document:plan'), controller.signal));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    controller.abort();
    expect(await pending).toBe(controller.signal.reason);
    expect(Date.now() - started).toBeLessThan(50);
  });

  it('fails fast with a connection error when killed, and works again once restarted', async () => {
    const check = checker(proxy.endpoint, spicedb().token, 5_000);
    await expect(check.check(read('user:alice', 'document:plan'), never)).resolves.toBe(true);
    await proxy.kill();
    const started = Date.now();
    const error = await rejection(check.check(read('user:alice', 'document:plan'), never));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toMatchObject({ grpcStatus: 'UNAVAILABLE', category: 'connection' });
    await expect(rejection(check.health(never))).resolves.toMatchObject({ category: 'connection' });
    await proxy.restart();
    // grpc-js reconnects on its backoff (the checker caps it at 5 s): poll, 20 ms at a time.
    let answer: unknown;
    for (let i = 0; i < 400 && answer !== true; i++) {
      answer = await check.check(read('user:alice', 'document:plan'), never).catch((e) => e);
      if (answer !== true) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answer).toBe(true);
  });
});

/**
 * A relay to `target` whose connections made before `silence()` stop carrying bytes either way
 * while staying open (a host gone without a FIN, a dropped NAT entry), and whose new connections
 * pass: an address failing over to a healthy SpiceDB.
 */
async function silencingRelay(target: string) {
  const colon = target.lastIndexOf(':');
  const open = new Set<Socket>();
  const silenced = new Set<Socket>();
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({
      host: target.slice(0, colon),
      port: Number(target.slice(colon + 1)),
      noDelay: true,
    });
    open.add(client);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('error', () => undefined);
      from.on('data', (bytes) => {
        if (!silenced.has(client)) to.write(bytes);
      });
      from.on('close', () => to.destroy());
    }
    client.on('close', () => {
      open.delete(client);
      silenced.delete(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => open.size,
    silence: () => {
      for (const client of open) silenced.add(client);
    },
    /** Silenced connections the client has not closed yet. */
    silent: () => silenced.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of open) client.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('SpiceDbChecker when its connection goes silent', () => {
  it('pings with no call in flight, drops the silent connection, and the next check dials afresh', async () => {
    const relay = await silencingRelay(spicedb().endpoint);
    closers.push(relay.close);
    const check = new SpiceDbChecker({
      endpoint: relay.endpoint,
      token: spicedb().token,
      insecure: true,
      timeout: TIMEOUT,
      // Shorter than the 30 s / 10 s defaults only so the test ends in well under a second.
      keepaliveTime: 200,
      keepaliveTimeout: 200,
    });
    closers.push(() => check.close());
    await expect(check.check(read('user:alice', 'document:plan'), never)).resolves.toBe(true);
    expect(relay.connections()).toBe(1);
    relay.silence();
    // No call is made meanwhile: only a ping can notice the silence (a breaker's open period).
    for (let i = 0; i < 150 && relay.silent() > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(relay.silent()).toBe(0);
    await expect(check.check(read('user:alice', 'document:plan'), never)).resolves.toBe(true);
    expect(relay.connections()).toBe(1);
  });
});

describe('SpiceDbChecker past SpiceDB’s 10,000 checks a call', () => {
  // Who may read what in RELATIONSHIPS: alice owns plan, bob reads it, carol owns notes.
  const READERS: Record<string, readonly string[]> = {
    'document:plan': ['user:alice', 'user:bob'],
    'document:notes': ['user:carol'],
  };
  const SUBJECTS = ['user:alice', 'user:bob', 'user:carol', 'user:dave'];
  const RESOURCES = Object.keys(READERS);

  /** 10,001 checks in an order with no period a split could hide behind (a fixed LCG). */
  function manyChecks(n: number): CheckRequest[] {
    let seed = 12_345;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    return Array.from({ length: n }, (_, i) => {
      const pick = random(SUBJECTS.length + 1);
      // Every fifth or so a stranger of its own, so most checks are distinct.
      const subject = pick === SUBJECTS.length ? `user:u${i}` : (SUBJECTS[pick] as string);
      return read(subject, RESOURCES[random(RESOURCES.length)] as string);
    });
  }

  it('refuses 10,001 checks in one call itself, so the list must be split', async () => {
    const client = v1.NewClient(
      spicedb().token,
      spicedb().endpoint,
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
    closers.push(() => client.close());
    const items = manyChecks(10_001).map((req) => {
      const [subjectType, subjectId] = req.subject.split(':') as [string, string];
      const [resourceType, resourceId] = req.resource.split(':') as [string, string];
      return {
        resource: { objectType: resourceType, objectId: resourceId },
        permission: req.permission,
        subject: { object: { objectType: subjectType, objectId: subjectId }, optionalRelation: '' },
      };
    });
    const error = await rejection(
      client.promises.checkBulkPermissions({ items, withTracing: false }),
    );
    expect(error).toMatchObject({ code: 3 });
    expect(String((error as Error).message)).toContain(
      'check count of 10001 is greater than maximum allowed of 10000',
    );
  });

  it('answers 10,001 checks in order, each as a check of its own answers it', async () => {
    const check = checker(spicedb().endpoint, spicedb().token, 10_000);
    const reqs = manyChecks(10_001);
    const answers = await check.checkMany(reqs, never);
    expect(answers).toHaveLength(10_001);
    const expected = reqs.map((req) => READERS[req.resource]?.includes(req.subject) === true);
    expect(answers).toEqual(expected);
    // Both answers occur, so a list all allowed or all denied could not pass.
    expect(new Set(answers)).toEqual(new Set([true, false]));
    // A sample asked one by one, either side of every chunk boundary and the very last.
    const sample = [0, 1, 999, 1_000, 1_001, 4_999, 5_000, 9_999, 10_000];
    for (let i = 37; i < 10_001; i += 613) sample.push(i);
    for (const i of sample) {
      await expect(check.check(reqs[i] as CheckRequest, never)).resolves.toBe(answers[i]);
    }
  });
});
