import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(failed?.message).toContain(
      `Could not write the gateway's schema to SpiceDB at ${spicedb.endpoint}`,
    );
    expect(failed?.message).not.toContain('not-the-key');
  }, 30_000);
});

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
