import { readFile } from 'node:fs/promises';
import { v1 } from '@authzed/authzed-node';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaPath } from '../src/server/schema.js';
import { errorOf, filesOf } from './support/answers.js';
import { startTestGateway, type TestGateway } from './support/gateway-harness.js';
import { CLEAN_TEXT } from './support/samples.js';

// A SpiceDB that knows tenants and members, but none of the gateway's permissions.
const OLD_SCHEMA = 'definition user {}\n\ndefinition tenant {\n  relation member: user\n}\n';
let spicedb: EmbeddedSpiceDb;

beforeAll(async () => {
  spicedb = await startEmbeddedSpiceDb({
    schema: OLD_SCHEMA,
    relationships: ['tenant:acme#member@user:alice'],
  });
}, 60_000);

afterAll(async () => {
  await spicedb?.close();
});

function scan(t: TestGateway): Promise<Response> {
  return t.fetch('/v1/tenants/acme/scans', 'alice', {
    method: 'POST',
    body: CLEAN_TEXT,
    headers: { 'content-type': 'application/octet-stream', 'x-filename': 'a.txt' },
  });
}

describe('the SpiceDB schema', () => {
  it('says so, in a 500 that names the fix, when SpiceDB lacks the permission', async () => {
    const t = await startTestGateway({ spicedb });
    try {
      const response = await scan(t);
      expect(response.status).toBe(500);
      const error = await errorOf(response);
      expect(error.code).toBe('BREAKWATER_AUTHZ_SCHEMA');
      expect(error.message).toContain('spicedb.applySchema');
      expect(t.logger.entries).toContainEqual(
        expect.objectContaining({
          level: 'error',
          fields: expect.objectContaining({ permission: 'scan' }),
        }),
      );
      // A refused question is the gateway's configuration, not an outage: the breaker stays closed.
      expect(t.gateway.registry.find('spicedb')?.state().name).toBe('closed');
    } finally {
      await t.close();
    }
  }, 30_000);

  it('is written on start with spicedb.applySchema, and then the same request passes', async () => {
    const t = await startTestGateway({ spicedb, config: { spicedb: { applySchema: true } } });
    try {
      const response = await scan(t);
      expect(response.status).toBe(200);
      expect((await filesOf(response))[0]?.decision).toBe('allow');
      expect(t.logger.entries).toContainEqual(
        expect.objectContaining({ fields: expect.objectContaining({ event: 'gateway_schema' }) }),
      );
    } finally {
      await t.close();
    }
  }, 30_000);

  it("fails the start with the phase and SpiceDB's own words when the write is refused", async () => {
    const failed = await startTestGateway({
      spicedb,
      config: { spicedb: { applySchema: true } },
      env: { TEST_SPICEDB_TOKEN: 'not-the-key' },
    }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failed).toMatchObject({ name: 'GatewayStartError', phase: 'schema' });
    // Refused at the ReadSchema that comes first, in SpiceDB's words.
    expect(failed?.message).toContain(
      `Could not read SpiceDB's schema at ${spicedb.endpoint} before writing the gateway's: invalid preshared key`,
    );
    expect(failed?.message).not.toContain('not-the-key');
  }, 30_000);
});

describe('a SpiceDB shared with an application', () => {
  it('is not written over: the start fails naming the definitions a write would delete', async () => {
    const shipped = await readFile(schemaPath(), 'utf8');
    const theirs = `${shipped}\ndefinition invoice {\n  relation owner: user\n  permission view = owner\n}\n\ncaveat on_weekdays(day int) {\n  day < 6\n}\n`;
    const shared = await startEmbeddedSpiceDb({ schema: theirs });
    try {
      const failed = await startTestGateway({
        spicedb: shared,
        config: { spicedb: { applySchema: true } },
      }).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failed).toMatchObject({ name: 'GatewayStartError', phase: 'schema' });
      expect(failed?.message).toBe(
        `SpiceDB at ${shared.endpoint} holds definitions the gateway's schema does not (caveat on_weekdays, definition invoice): writing schema/schema.zed would delete them. Add the gateway's definitions to your schema and write it yourself (zed schema write), then start with spicedb.applySchema: false`,
      );
      expect(await readSchemaOf(shared)).toContain('definition invoice');
    } finally {
      await shared.close();
    }
  }, 60_000);
});

/** The schema SpiceDB holds, as ReadSchema answers it. */
async function readSchemaOf(server: EmbeddedSpiceDb): Promise<string> {
  const client = v1.NewClient(
    server.token,
    server.endpoint,
    v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
  );
  try {
    return await new Promise<string>((resolve, reject) => {
      client.readSchema(v1.ReadSchemaRequest.create({}), (error, response) =>
        error || response === undefined ? reject(error) : resolve(response.schemaText),
      );
    });
  } finally {
    client.close();
  }
}

describe('without a SpiceDB key', () => {
  it('starts, warns, and denies every request (SpiceDB refuses the calls; the fallback denies)', async () => {
    const t = await startTestGateway({
      spicedb,
      config: { spicedb: { tokenEnv: 'TEST_SPICEDB_TOKEN_THAT_IS_NOT_SET' } },
    });
    try {
      expect(t.config.spicedb.token).toBeUndefined();
      expect(t.logger.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: expect.stringContaining('no preshared key'),
        }),
      );
      const response = await scan(t);
      expect(response.status).toBe(403);
      expect(response.headers.get('retry-after')).not.toBeNull();
      expect((await errorOf(response)).code).toBe('BREAKWATER_FORBIDDEN');
    } finally {
      await t.close();
    }
  }, 30_000);
});

describe('without SpiceDB answering', () => {
  it('starts, denies with Retry-After while nothing is cached, and reports it on /readyz once the breaker opens', async () => {
    const closed = await closedPort();
    const t = await startTestGateway({
      spicedb,
      config: { spicedb: { endpoint: `127.0.0.1:${closed}`, breaker: { failureThreshold: 1 } } },
    });
    try {
      const response = await scan(t);
      expect(response.status).toBe(403);
      expect(response.headers.get('retry-after')).not.toBeNull();
      expect((await errorOf(response)).message).toContain('SpiceDB cannot be asked');
      expect(t.gateway.registry.find('spicedb')?.state().name).toBe('open');
      expect((await t.fetch('/readyz', undefined)).status).toBe(503);
    } finally {
      await t.close();
    }
  }, 30_000);
});

/** A loopback port nothing listens on: one the OS gave out and took back. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}
