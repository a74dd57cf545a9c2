import { createServer as createHttp2Server, constants as http2Constants } from 'node:http2';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { v1 } from '@authzed/authzed-node';
import { FailurePolicy } from '@breakwater/core';
import {
  type CallProperties,
  InterceptingCall,
  type Interceptor,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthorizationRequestError } from './errors.js';
import { SpiceDbChecker, type SpiceDbCheckerOptions } from './spicedb-checker.js';
import { SpiceDbError } from './spicedb-error.js';
import type { CheckRequest } from './types.js';

const TOKEN = 'tok-5ecret-9f3a';
const Permissionship = v1.CheckPermissionResponse_Permissionship;
const never = new AbortController().signal;

interface Codec<T> {
  toBinary(value: T): Uint8Array;
  fromBinary(bytes: Uint8Array): T;
}

function unary<I, O>(path: string, input: Codec<I>, output: Codec<O>) {
  return {
    path,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (value: I) => Buffer.from(input.toBinary(value)),
    requestDeserialize: (bytes: Buffer) => input.fromBinary(bytes),
    responseSerialize: (value: O) => Buffer.from(output.toBinary(value)),
    responseDeserialize: (bytes: Buffer) => output.fromBinary(bytes),
  };
}

const SERVICE = {
  checkPermission: unary(
    '/authzed.api.v1.PermissionsService/CheckPermission',
    v1.CheckPermissionRequest,
    v1.CheckPermissionResponse,
  ),
  checkBulkPermissions: unary(
    '/authzed.api.v1.PermissionsService/CheckBulkPermissions',
    v1.CheckBulkPermissionsRequest,
    v1.CheckBulkPermissionsResponse,
  ),
};
const SCHEMA_SERVICE = {
  readSchema: unary(
    '/authzed.api.v1.SchemaService/ReadSchema',
    v1.ReadSchemaRequest,
    v1.ReadSchemaResponse,
  ),
};

type Method = 'checkPermission' | 'checkBulkPermissions' | 'readSchema';
/** A scripted answer: a response, a gRPC error, or 'stall' (never answer). */
type Answer = object | { code: number; details: string } | 'stall';

interface Received {
  method: Method;
  request: unknown;
  authorization: unknown;
  requestIds: unknown[];
  deadline: number;
  /** Date.now() when it arrived. */
  at: number;
  call: ServerUnaryCall<unknown, unknown>;
  /** Answers a stalled call later. */
  reply: sendUnaryData<unknown>;
}

/**
 * A real gRPC server speaking SpiceDB's wire format for the three RPCs the checker makes, each
 * answering what the test scripts; it records what arrived (request, token, deadline).
 */
async function scriptedSpiceDb(answer: (method: Method, request: unknown) => Answer) {
  const received: Received[] = [];
  const server = new Server();
  const handle =
    (method: Method) =>
    (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const deadline = call.getDeadline();
      received.push({
        method,
        request: call.request,
        authorization: call.metadata.get('authorization')[0],
        requestIds: call.metadata.get('x-request-id'),
        deadline: deadline instanceof Date ? deadline.getTime() : deadline,
        at: Date.now(),
        call,
        reply: callback,
      });
      const reply = answer(method, call.request);
      if (reply === 'stall') return;
      if ('code' in reply && 'details' in reply) {
        callback({ code: reply.code as number, details: reply.details as string });
      } else {
        callback(null, reply);
      }
    };
  server.addService(SERVICE, {
    checkPermission: handle('checkPermission'),
    checkBulkPermissions: handle('checkBulkPermissions'),
  });
  server.addService(SCHEMA_SERVICE, { readSchema: handle('readSchema') });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { endpoint: `127.0.0.1:${port}`, received, close: () => server.forceShutdown() };
}

/** A TCP server that accepts and never says a word: a stalled SpiceDB. */
async function silentServer() {
  const sockets = new Set<Socket>();
  const server: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    endpoint: `127.0.0.1:${address.port}`,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function checkerFor(endpoint: string, extra: Partial<SpiceDbCheckerOptions> = {}) {
  const checker = new SpiceDbChecker({
    endpoint,
    token: TOKEN,
    insecure: true,
    ...extra,
  } as SpiceDbCheckerOptions);
  cleanups.push(() => checker.close());
  return checker;
}

async function server(answer: (method: Method, request: unknown) => Answer) {
  const spicedb = await scriptedSpiceDb(answer);
  cleanups.push(spicedb.close);
  return spicedb;
}

const has = (permissionship: number) => ({ permissionship });
const ALICE: CheckRequest = {
  subject: 'user:alice',
  resource: 'document:readme',
  permission: 'read',
};

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => new Error(`expected a rejection, got ${String(value)}`),
    (error) => error,
  );

describe('SpiceDbChecker options', () => {
  const build = (options: unknown) => () => new SpiceDbChecker(options as SpiceDbCheckerOptions);

  it('refuses unknown keys, and endpoint options beside a client', () => {
    expect(build({ endpoint: '127.0.0.1:1', token: TOKEN, timeuot: 5 })).toThrow(
      /unknown option "timeuot"/,
    );
    const client = v1.NewClient(
      TOKEN,
      '127.0.0.1:1',
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
    cleanups.push(() => client.close());
    expect(build({ client, token: TOKEN })).toThrow(
      /unknown option "token"; known options are client/,
    );
    expect(build({ client: {} })).toThrow(
      /option "client" must be an @authzed\/authzed-node v1 client/,
    );
    expect(build({ client, keepaliveTime: 1_000 })).toThrow(/unknown option "keepaliveTime"/);
  });

  it('refuses client.promises, whose calls could never be cancelled, naming the fix', () => {
    const client = v1.NewClient(
      TOKEN,
      '127.0.0.1:1',
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
    cleanups.push(() => client.close());
    let error: unknown;
    try {
      new SpiceDbChecker({ client: client.promises as never });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/option "client" .*pass the client itself/);
    expect((error as Error).message).toContain('not client.promises');
  });

  it('validates keepaliveTime and keepaliveTimeout', () => {
    const base = { endpoint: '127.0.0.1:1', token: TOKEN };
    expect(build({ ...base, keepaliveTime: 99 })).toThrow(/option "keepaliveTime"/);
    expect(build({ ...base, keepaliveTime: '30s' })).toThrow(/option "keepaliveTime"/);
    expect(build({ ...base, keepaliveTimeout: 0 })).toThrow(/option "keepaliveTimeout"/);
    expect(build({ ...base, keepaliveTimeout: 2 ** 31 })).toThrow(/at most 2147483647/);
    expect(checkerFor('127.0.0.1:1', { keepaliveTime: 100, keepaliveTimeout: 1 }).timeout).toBe(
      2_000,
    );
  });

  it.each(['localhost', 'localhost:0', 'localhost:70000', 'http://localhost:50051', 42])(
    'refuses endpoint %j',
    (endpoint) => {
      expect(build({ endpoint, token: TOKEN })).toThrow(/option "endpoint" must be "host:port"/);
    },
  );

  it('takes host:port, IPv6 in brackets included', () => {
    expect(checkerFor('[::1]:50051').endpoint).toBe('[::1]:50051');
    expect(checkerFor('spicedb.internal:443').timeout).toBe(2_000);
  });

  it('refuses a bad token without ever quoting it', () => {
    for (const token of ['', 12345, `${TOKEN}\n`, `${TOKEN} x`]) {
      let message = '';
      try {
        new SpiceDbChecker({ endpoint: '127.0.0.1:1', token } as SpiceDbCheckerOptions);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/option "token"/);
      expect(message).not.toContain(TOKEN);
      expect(message).not.toContain('12345');
    }
  });

  it('validates timeout, insecure and consistency once', () => {
    const base = { endpoint: '127.0.0.1:1', token: TOKEN };
    expect(build({ ...base, timeout: 0 })).toThrow(RangeError);
    expect(build({ ...base, timeout: 2 ** 31 })).toThrow(/at most 2147483647/);
    expect(build({ ...base, insecure: 'yes' })).toThrow(/option "insecure" must be a boolean/);
    expect(build({ ...base, consistency: 'eventual' })).toThrow(/option "consistency" must be/);
    expect(build({ ...base, consistency: { atLeastAsFresh: '' } })).toThrow(/zedtoken/);
    expect(build({ ...base, consistency: { atLeastAsFresh: 'x', extra: 1 } })).toThrow(TypeError);
  });

  it('never shows the token in util.inspect', () => {
    const checker = checkerFor('127.0.0.1:1');
    const shown = inspect(checker, { showHidden: true, showProxy: true, depth: 10 });
    expect(shown).toContain('SpiceDbChecker');
    expect(shown).not.toContain(TOKEN);
    expect(JSON.stringify(checker)).not.toContain(TOKEN);
  });
});

describe('SpiceDbChecker.check', () => {
  it('sends the v1 request with our token and its own deadline, and reads the answer', async () => {
    let permissionship = Permissionship.HAS_PERMISSION;
    const spicedb = await server(() => has(permissionship));
    const checker = checkerFor(spicedb.endpoint, { timeout: 1_500 });
    const before = Date.now();
    await expect(checker.check(ALICE, never)).resolves.toBe(true);
    permissionship = Permissionship.NO_PERMISSION;
    await expect(checker.check({ ...ALICE, subject: 'group:eng#member' }, never)).resolves.toBe(
      false,
    );
    const [first, second] = spicedb.received;
    expect(first?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(first?.request).toMatchObject({
      consistency: { requirement: { oneofKind: 'minimizeLatency', minimizeLatency: true } },
      resource: { objectType: 'document', objectId: 'readme' },
      permission: 'read',
      subject: { object: { objectType: 'user', objectId: 'alice' }, optionalRelation: '' },
    });
    expect(second?.request).toMatchObject({
      subject: { object: { objectType: 'group', objectId: 'eng' }, optionalRelation: 'member' },
    });
    // The deadline reached the server (grpc-timeout): about now + timeout, not none.
    expect(first?.deadline).toBeGreaterThanOrEqual(before + 1_400);
    expect(first?.deadline).toBeLessThanOrEqual(Date.now() + 1_600);
  });

  it('takes each check consistency over the checker default', async () => {
    const spicedb = await server(() => has(Permissionship.HAS_PERMISSION));
    const checker = checkerFor(spicedb.endpoint, { consistency: 'fully_consistent' });
    await checker.check(ALICE, never);
    await checker.check({ ...ALICE, consistency: 'minimize_latency' }, never);
    await checker.check({ ...ALICE, consistency: { atLeastAsFresh: 'GhUKEzE3' } }, never);
    const kinds = spicedb.received.map(
      (r) => (r.request as v1.CheckPermissionRequest).consistency?.requirement,
    );
    expect(kinds).toEqual([
      { oneofKind: 'fullyConsistent', fullyConsistent: true },
      { oneofKind: 'minimizeLatency', minimizeLatency: true },
      { oneofKind: 'atLeastAsFresh', atLeastAsFresh: { token: 'GhUKEzE3' } },
    ]);
    const bad = await rejection(
      checker.check({ ...ALICE, consistency: 'eventual' as never }, never),
    );
    expect(bad).toBeInstanceOf(AuthorizationRequestError);
    expect((bad as AuthorizationRequestError).field).toBe('consistency');
  });

  it('keeps its own copy of a default atLeastAsFresh', async () => {
    const spicedb = await server(() => has(Permissionship.HAS_PERMISSION));
    const consistency = { atLeastAsFresh: 'first' };
    const checker = checkerFor(spicedb.endpoint, { consistency });
    consistency.atLeastAsFresh = 'changed';
    await checker.check(ALICE, never);
    expect(checker.consistency).toEqual({ atLeastAsFresh: 'first' });
    expect(
      (spicedb.received[0]?.request as v1.CheckPermissionRequest | undefined)?.consistency,
    ).toEqual({
      requirement: { oneofKind: 'atLeastAsFresh', atLeastAsFresh: { token: 'first' } },
    });
  });

  it('denies a conditional answer and fails on an unspecified one', async () => {
    let permissionship = Permissionship.CONDITIONAL_PERMISSION;
    const spicedb = await server(() => has(permissionship));
    const checker = checkerFor(spicedb.endpoint);
    await expect(checker.check(ALICE, never)).resolves.toBe(false);
    permissionship = Permissionship.UNSPECIFIED;
    const error = await rejection(checker.check(ALICE, never));
    expect(error).toBeInstanceOf(SpiceDbError);
    expect((error as SpiceDbError).message).toContain('permissionship UNSPECIFIED');
  });

  it('maps the server status, and scrubs a token the server echoes', async () => {
    let reply: Answer = { code: status.UNAUTHENTICATED, details: `bad key ${TOKEN}` };
    const spicedb = await server(() => reply);
    const checker = checkerFor(spicedb.endpoint);
    const refused = (await rejection(checker.check(ALICE, never))) as SpiceDbError;
    expect(refused).toBeInstanceOf(SpiceDbError);
    expect(refused.configuration).toBe(true);
    expect(refused.grpcStatus).toBe('UNAUTHENTICATED');
    expect(refused.message).toContain('bad key [redacted]');
    expect(inspect(refused, { showHidden: true, depth: 10 })).not.toContain(TOKEN);
    reply = { code: status.RESOURCE_EXHAUSTED, details: 'slow down' };
    expect(await rejection(checker.check(ALICE, never))).toMatchObject({
      category: 'rate_limited',
    });
    reply = { code: status.FAILED_PRECONDITION, details: 'relation/permission `nope` not found' };
    const request = await rejection(checker.check({ ...ALICE, permission: 'nope' }, never));
    expect(request).toBeInstanceOf(AuthorizationRequestError);
    expect((request as Error).message).toContain('`nope` not found');
  });

  it('counts a CANCELLED status SpiceDB sends (it gave up on the call; we did not)', async () => {
    const spicedb = await server(() => ({ code: status.CANCELLED, details: 'context canceled' }));
    const checker = checkerFor(spicedb.endpoint);
    for (const call of [
      () => checker.check(ALICE, never),
      () => checker.checkMany([ALICE], never),
      () => checker.health(never),
    ]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(SpiceDbError);
      expect(error).toMatchObject({ grpcStatus: 'CANCELLED', category: 'unavailable' });
      expect(FailurePolicy.default().isFailure(error)).toBe(true);
      expect((error as Error).message).toContain('context canceled (SpiceDB or a proxy');
    }
  });

  it('counts a stream an HTTP/2 peer resets with CANCEL, as a proxy in front of SpiceDB may', async () => {
    const peer = createHttp2Server();
    peer.on('stream', (stream) => stream.close(http2Constants.NGHTTP2_CANCEL));
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => peer.close(resolve)));
    const checker = checkerFor(`127.0.0.1:${(peer.address() as { port: number }).port}`);
    const error = await rejection(checker.check(ALICE, never));
    expect(error).toBeInstanceOf(SpiceDbError);
    expect(error).toMatchObject({ grpcStatus: 'CANCELLED', category: 'unavailable' });
    expect(FailurePolicy.default().isFailure(error)).toBe(true);
  });

  it('refuses a subject it cannot split before sending anything', async () => {
    const spicedb = await server(() => has(Permissionship.HAS_PERMISSION));
    const checker = checkerFor(spicedb.endpoint);
    const error = await rejection(checker.check({ ...ALICE, subject: 'alice' }, never));
    expect(error).toMatchObject({ field: 'subject' });
    expect(spicedb.received).toHaveLength(0);
  });
});

describe('SpiceDbChecker.checkMany', () => {
  it('answers in the order asked, in one call', async () => {
    const spicedb = await server((_, request) => ({
      pairs: (request as v1.CheckBulkPermissionsRequest).items.map((item) => ({
        request: item,
        response: {
          oneofKind: 'item',
          item: {
            permissionship:
              item.subject?.object?.objectId === 'alice'
                ? Permissionship.HAS_PERMISSION
                : Permissionship.NO_PERMISSION,
          },
        },
      })),
    }));
    const checker = checkerFor(spicedb.endpoint);
    const answers = await checker.checkMany(
      [ALICE, { ...ALICE, subject: 'user:bob' }, { ...ALICE, resource: 'document:other' }],
      never,
    );
    expect(answers).toEqual([true, false, true]);
    expect(spicedb.received).toHaveLength(1);
    await expect(checker.checkMany([], never)).resolves.toEqual([]);
    expect(spicedb.received).toHaveLength(1);
  });

  it('picks one consistency that satisfies every item', async () => {
    const spicedb = await server((_, request) => ({
      pairs: (request as v1.CheckBulkPermissionsRequest).items.map(() => ({
        response: { oneofKind: 'item', item: { permissionship: Permissionship.NO_PERMISSION } },
      })),
    }));
    const checker = checkerFor(spicedb.endpoint);
    const fresh = (token: string) => ({ ...ALICE, consistency: { atLeastAsFresh: token } });
    await checker.checkMany([ALICE, ALICE], never);
    await checker.checkMany([ALICE, fresh('a'), fresh('a')], never);
    await checker.checkMany([fresh('a'), ALICE, fresh('b')], never);
    await checker.checkMany(
      [ALICE, { ...ALICE, consistency: 'fully_consistent' }, fresh('a')],
      never,
    );
    const kinds = spicedb.received.map(
      (r) => (r.request as v1.CheckBulkPermissionsRequest).consistency?.requirement,
    );
    expect(kinds).toEqual([
      { oneofKind: 'minimizeLatency', minimizeLatency: true },
      { oneofKind: 'atLeastAsFresh', atLeastAsFresh: { token: 'a' } },
      { oneofKind: 'fullyConsistent', fullyConsistent: true },
      { oneofKind: 'fullyConsistent', fullyConsistent: true },
    ]);
  });

  it("maps an item's error like a call error, naming the item, and refuses a short answer", async () => {
    let itemError: object | undefined = {
      code: status.FAILED_PRECONDITION,
      message: 'no permission `nope`',
      details: [],
    };
    let short = false;
    const spicedb = await server(() => ({
      pairs: [
        {
          response: { oneofKind: 'item', item: { permissionship: Permissionship.HAS_PERMISSION } },
        },
        ...(short
          ? []
          : [
              {
                response:
                  itemError === undefined
                    ? { oneofKind: 'item', item: { permissionship: 7 } }
                    : { oneofKind: 'error', error: itemError },
              },
            ]),
      ],
    }));
    const checker = checkerFor(spicedb.endpoint);
    const two = [ALICE, { ...ALICE, permission: 'nope' }];
    const refused = await rejection(checker.checkMany(two, never));
    expect(refused).toBeInstanceOf(AuthorizationRequestError);
    expect((refused as Error).message).toContain('check 1 refused the check (FAILED_PRECONDITION)');
    itemError = { code: status.UNAVAILABLE, message: 'dispatch failed', details: [] };
    expect(await rejection(checker.checkMany(two, never))).toMatchObject({
      item: 1,
      category: 'connection',
    });
    itemError = undefined;
    expect(await rejection(checker.checkMany(two, never))).toMatchObject({
      item: 1,
      message: expect.stringContaining('check 1 answered permissionship 7'),
    });
    short = true;
    expect(((await rejection(checker.checkMany(two, never))) as Error).message).toContain(
      'answered 1 checks of the 2 asked',
    );
  });
});

describe('SpiceDbChecker.checkMany past maxBulkChecks', () => {
  /** Checks of document:d0 … d{n-1}; SpiceDB allows every third. */
  const list = (n: number): CheckRequest[] =>
    Array.from({ length: n }, (_, i) => ({ ...ALICE, resource: `document:d${i}` }));
  const expected = (n: number) => Array.from({ length: n }, (_, i) => i % 3 === 0);
  const idOf = (item: v1.CheckBulkPermissionsRequestItem | undefined) =>
    Number(item?.resource?.objectId.slice(1));
  const itemsOf = (r: Received) => (r.request as v1.CheckBulkPermissionsRequest).items;
  const answerFor = (request: unknown) => ({
    pairs: (request as v1.CheckBulkPermissionsRequest).items.map((item) => ({
      response: {
        oneofKind: 'item',
        item: {
          permissionship:
            idOf(item) % 3 === 0 ? Permissionship.HAS_PERMISSION : Permissionship.NO_PERMISSION,
        },
      },
    })),
  });
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(condition()).toBe(true);
  };
  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('validates maxBulkChecks: an integer from 1 to SpiceDB’s 10,000, default 1,000', () => {
    const build = (maxBulkChecks: unknown) => () =>
      new SpiceDbChecker({
        endpoint: '127.0.0.1:1',
        token: TOKEN,
        maxBulkChecks,
      } as SpiceDbCheckerOptions);
    for (const bad of [0, -1, 2.5, '10', Number.NaN]) expect(build(bad)).toThrow(/maxBulkChecks/);
    expect(build(10_001)).toThrow(
      'option "maxBulkChecks" must be at most 10000, the most checks SpiceDB takes in one CheckBulkPermissions call, got 10001',
    );
    const made = [build(undefined)(), build(10_000)(), build(1)()];
    expect(made.map((c) => c.maxBulkChecks)).toEqual([1_000, 10_000, 1]);
    for (const checker of made) checker.close();
  });

  it('sends 1,001 checks as calls of 1,000 and 1 by default', async () => {
    const spicedb = await server((_, request) => answerFor(request));
    const answers = await checkerFor(spicedb.endpoint).checkMany(list(1_001), never);
    expect(answers).toEqual(expected(1_001));
    const sizes = spicedb.received.map((r) => itemsOf(r).length).sort((a, b) => a - b);
    expect(sizes).toEqual([1, 1_000]);
  });

  it('keeps at most 4 calls in flight, each with its own deadline, and restores the order', async () => {
    const spicedb = await server(() => 'stall');
    const timeout = 5_000;
    const checker = checkerFor(spicedb.endpoint, { maxBulkChecks: 3, timeout });
    const reqs = list(20);
    reqs[19] = { ...(reqs[19] as CheckRequest), consistency: 'fully_consistent' };
    const pending = checker.checkMany(reqs, never);
    let replied = 0;
    let mostInFlight = 0;
    while (replied < 7) {
      await until(() => spicedb.received.length === Math.min(replied + 4, 7));
      // Nothing more comes while 4 are out.
      await settle();
      mostInFlight = Math.max(mostInFlight, spicedb.received.length - replied);
      // The latest first, so answers arrive out of order.
      const unanswered = spicedb.received.slice(replied).reverse();
      for (const call of unanswered) call.reply(null, answerFor(call.request));
      replied += unanswered.length;
    }
    const answers = await pending;
    expect(answers).toEqual(expected(20));
    expect(mostInFlight).toBe(4);
    const chunks = spicedb.received.map((r) => itemsOf(r).map(idOf));
    expect(chunks.map((ids) => ids.length).sort()).toEqual([2, 3, 3, 3, 3, 3, 3]);
    expect(chunks.flat().sort((a, b) => a - b)).toEqual(reqs.map((_, i) => i));
    for (const ids of chunks)
      expect(ids[0] as number).toBe((ids[ids.length - 1] as number) - ids.length + 1);
    for (const r of spicedb.received) {
      // A deadline shared from the first send would be 20+ ms short for the later calls.
      expect(r.deadline - r.at).toBeGreaterThan(timeout - 15);
      expect(r.deadline - r.at).toBeLessThanOrEqual(timeout + 5);
      // One consistency for the whole list, however it is split.
      expect((r.request as v1.CheckBulkPermissionsRequest).consistency?.requirement.oneofKind).toBe(
        'fullyConsistent',
      );
    }
  });

  it("names an item's error in chunk 3 by its index in the whole list", async () => {
    let itemError = {
      code: status.FAILED_PRECONDITION,
      message: 'no permission `nope`',
      details: [],
    };
    const spicedb = await server((_, request) => {
      const answer = answerFor(request);
      const items = (request as v1.CheckBulkPermissionsRequest).items;
      const at = items.findIndex((item) => idOf(item) === 7);
      if (at >= 0) {
        (answer.pairs[at] as { response: object }).response = {
          oneofKind: 'error',
          error: itemError,
        };
      }
      return answer;
    });
    const checker = checkerFor(spicedb.endpoint, { maxBulkChecks: 3 });
    const refused = await rejection(checker.checkMany(list(10), never));
    expect(refused).toBeInstanceOf(AuthorizationRequestError);
    expect((refused as Error).message).toContain('check 7 refused the check (FAILED_PRECONDITION)');
    itemError = { code: status.UNAVAILABLE, message: 'dispatch failed', details: [] };
    expect(await rejection(checker.checkMany(list(10), never))).toMatchObject({
      item: 7,
      category: 'connection',
      message: expect.stringContaining('check 7 failed: UNAVAILABLE'),
    });
    // Item 7 was the second of the third call's three.
    const third = spicedb.received.map((r) => itemsOf(r).map(idOf)).find((ids) => ids[0] === 6);
    expect(third).toEqual([6, 7, 8]);
  });

  it('fails the list when one call fails, cancelling the calls in flight and sending no more', async () => {
    const spicedb = await server(() => 'stall');
    const checker = checkerFor(spicedb.endpoint, { maxBulkChecks: 2, timeout: 10_000 });
    const pending = rejection(checker.checkMany(list(12), never));
    await until(() => spicedb.received.length === 4);
    const failing = spicedb.received.find((r) => idOf(itemsOf(r)[0]) === 4) as Received;
    failing.reply({ code: status.UNAVAILABLE, details: 'connection reset' });
    expect(await pending).toMatchObject({
      operation: 'CheckBulkPermissions',
      category: 'connection',
      grpcStatus: 'UNAVAILABLE',
    });
    const others = spicedb.received.filter((r) => r !== failing);
    expect(others).toHaveLength(3);
    await until(() => others.every((r) => r.call.cancelled));
    await settle();
    // Chunks 5 and 6 (checks 8 to 11) were never sent.
    expect(spicedb.received).toHaveLength(4);
  });

  it("rejects with the caller's reason when it aborts, cancelling every call in flight", async () => {
    const spicedb = await server(() => 'stall');
    const checker = checkerFor(spicedb.endpoint, { maxBulkChecks: 2, timeout: 10_000 });
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const pending = rejection(checker.checkMany(list(12), controller.signal));
    await until(() => spicedb.received.length === 4);
    controller.abort(reason);
    expect(await pending).toBe(reason);
    await until(() => spicedb.received.every((r) => r.call.cancelled));
    await settle();
    expect(spicedb.received).toHaveLength(4);
  });
});

describe('SpiceDbChecker.health', () => {
  it('is healthy when SpiceDB answers, even with no schema written, and fails otherwise', async () => {
    let reply: Answer = { schemaText: 'definition user {}' };
    const spicedb = await server(() => reply);
    const checker = checkerFor(spicedb.endpoint);
    await expect(checker.health(never)).resolves.toBeUndefined();
    reply = { code: status.NOT_FOUND, details: 'No schema has been defined' };
    await expect(checker.health(never)).resolves.toBeUndefined();
    reply = { code: status.PERMISSION_DENIED, details: 'invalid preshared key' };
    expect(await rejection(checker.health(never))).toMatchObject({
      configuration: true,
      operation: 'ReadSchema',
    });
    expect(spicedb.received.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});

describe('SpiceDbChecker against a stalled server', () => {
  async function stalled() {
    const silent = await silentServer();
    cleanups.push(silent.close);
    return silent;
  }

  it('ends each call at its own deadline with a timeout', async () => {
    const silent = await stalled();
    const checker = checkerFor(silent.endpoint, { timeout: 100 });
    for (const call of [
      () => checker.check(ALICE, never),
      () => checker.checkMany([ALICE], never),
      () => checker.health(never),
    ]) {
      const started = Date.now();
      const error = await rejection(call());
      expect(Date.now() - started).toBeLessThan(100 + 100);
      expect(error).toBeInstanceOf(SpiceDbError);
      expect(error).toMatchObject({ grpcStatus: 'DEADLINE_EXCEEDED', category: 'timeout' });
    }
    expect(silent.connections()).toBeGreaterThan(0);
  });

  it("rejects with the signal's reason as soon as it aborts", async () => {
    const silent = await stalled();
    const checker = checkerFor(silent.endpoint, { timeout: 10_000 });
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const pending = rejection(checker.check(ALICE, controller.signal));
    setTimeout(() => controller.abort(reason), 20);
    const started = Date.now();
    expect(await pending).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
    const aborted = AbortSignal.abort(reason);
    expect(await rejection(checker.checkMany([ALICE], aborted))).toBe(reason);
    expect(await rejection(checker.health(aborted))).toBe(reason);
  });

  it('cancels the call on the wire when the signal aborts', async () => {
    const spicedb = await server(() => 'stall');
    const checker = checkerFor(spicedb.endpoint, { timeout: 10_000 });
    const controller = new AbortController();
    const pending = rejection(checker.check(ALICE, controller.signal));
    for (let i = 0; i < 200 && spicedb.received.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const call = spicedb.received[0]?.call as ServerUnaryCall<unknown, unknown>;
    const cancelled = new Promise<void>((resolve) => call.once('cancelled', () => resolve()));
    const started = Date.now();
    controller.abort();
    expect(await pending).toBe(controller.signal.reason);
    await cancelled;
    expect(call.cancelled).toBe(true);
    // Well before the 10 s deadline, which would also end it on the server.
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('SpiceDbChecker.close', () => {
  it('closes a client it made; later calls reject', async () => {
    const spicedb = await server(() => has(Permissionship.HAS_PERMISSION));
    const checker = checkerFor(spicedb.endpoint);
    await expect(checker.check(ALICE, never)).resolves.toBe(true);
    checker.close();
    checker.close();
    const error = await rejection(checker.check(ALICE, never));
    expect(error).toBeInstanceOf(SpiceDbError);
    expect((error as Error).message).toContain('SpiceDbChecker is closed');
    expect(spicedb.received).toHaveLength(1);
  });

  it('leaves a given client open', async () => {
    const spicedb = await server(() => has(Permissionship.NO_PERMISSION));
    const client = v1.NewClient(
      TOKEN,
      spicedb.endpoint,
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
    cleanups.push(() => client.close());
    const checker = new SpiceDbChecker({ client, timeout: 1_000 });
    expect(checker.endpoint).toBeUndefined();
    await expect(checker.check(ALICE, never)).resolves.toBe(false);
    checker.close();
    const response = await client.promises.checkPermission({
      resource: { objectType: 'document', objectId: 'readme' },
      permission: 'read',
      subject: { object: { objectType: 'user', objectId: 'alice' }, optionalRelation: '' },
      withTracing: false,
    });
    expect(response.permissionship).toBe(Permissionship.NO_PERMISSION);
    expect(spicedb.received).toHaveLength(2);
  });
});

describe('SpiceDbChecker with a given client', () => {
  function clientFor(endpoint: string, options: object) {
    const client = v1.NewClient(
      TOKEN,
      endpoint,
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
      undefined,
      options,
    );
    cleanups.push(() => client.close());
    return client;
  }

  it("sends each call only its own headers, whatever the client's interceptors add", async () => {
    const allowed = has(Permissionship.HAS_PERMISSION);
    const spicedb = await server((method) =>
      method === 'checkBulkPermissions'
        ? { pairs: [{ response: { oneofKind: 'item', item: allowed } }] }
        : method === 'readSchema'
          ? { schemaText: 'definition user {}' }
          : allowed,
    );
    let next = 0;
    // The grpc-js documentation's interceptor shape: add a header to each outgoing call.
    const requestId: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(metadata, listener, nextStart) {
          next += 1;
          metadata.add('x-request-id', `req-${next}`);
          nextStart(metadata, listener);
        },
      });
    const client = clientFor(spicedb.endpoint, { interceptors: [requestId] });
    const checker = new SpiceDbChecker({ client });
    for (let i = 0; i < 4; i++) await checker.check(ALICE, never);
    await checker.checkMany([ALICE], never);
    await checker.health(never);
    expect(spicedb.received.map((r) => r.requestIds)).toEqual([
      ['req-1'],
      ['req-2'],
      ['req-3'],
      ['req-4'],
      ['req-5'],
      ['req-6'],
    ]);
  });

  it("gives each call its own options, whatever the client's call transformer does to them", async () => {
    const spicedb = await server(() => has(Permissionship.HAS_PERMISSION));
    const marks: number[] = [];
    const callInvocationTransformer = (properties: CallProperties<unknown, unknown>) => {
      const options = properties.callOptions as { marks?: number };
      options.marks = (options.marks ?? 0) + 1;
      marks.push(options.marks);
      return properties;
    };
    const checker = new SpiceDbChecker({
      client: clientFor(spicedb.endpoint, { callInvocationTransformer }),
    });
    for (let i = 0; i < 3; i++) await checker.check(ALICE, never);
    expect(marks).toEqual([1, 1, 1]);
  });

  /** A client whose methods send nothing and return what `returned` makes of the callback. */
  function fakeClient(
    returned: (callback: (error: unknown, response: unknown) => void) => unknown,
  ) {
    const sent: ((error: unknown, response: unknown) => void)[] = [];
    const method = (_request: unknown, _metadata: unknown, _options: unknown, callback: never) => {
      sent.push(callback);
      return returned(callback);
    };
    const client = {
      promises: {},
      checkPermission: method,
      checkBulkPermissions: method,
      readSchema: method,
      close: () => undefined,
    };
    return { client: client as never, sent };
  }

  /** Errors that escaped to the process (an abort listener's throw is rethrown on nextTick). */
  async function escapedWhile(run: () => unknown): Promise<unknown[]> {
    const escaped: unknown[] = [];
    const record = (error: unknown) => escaped.push(error);
    process.prependListener('uncaughtException', record);
    try {
      await run();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeListener('uncaughtException', record);
    }
    return escaped;
  }

  it('refuses a call its client returned without cancel(), and an abort throws nothing', async () => {
    // What util.promisify-ed methods return: a promise, not a call.
    const fake = fakeClient(() => new Promise(() => undefined));
    const checker = new SpiceDbChecker({ client: fake.client });
    const controller = new AbortController();
    const escaped = await escapedWhile(async () => {
      const error = await rejection(checker.check(ALICE, controller.signal));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/returned no call with cancel\(\).*v1\.NewClient/);
      controller.abort();
    });
    expect(escaped).toEqual([]);
    expect(fake.sent).toHaveLength(1);
  });

  it('still rejects with the reason when cancel() itself throws, and nothing escapes', async () => {
    const fake = fakeClient(() => ({
      cancel() {
        throw new Error('cancel broke');
      },
    }));
    const checker = new SpiceDbChecker({ client: fake.client });
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const escaped = await escapedWhile(async () => {
      const pending = rejection(checker.check(ALICE, controller.signal));
      controller.abort(reason);
      expect(await pending).toBe(reason);
    });
    expect(escaped).toEqual([]);
  });
});
