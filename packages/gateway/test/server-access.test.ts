import { startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, filesOf } from './support/answers.js';
import { startTestGateway, type TestGateway } from './support/gateway-harness.js';
import { CLEAN_TEXT, EICAR } from './support/samples.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
}, 60_000);

afterAll(async () => {
  await t?.close();
});

function upload(
  user: Parameters<TestGateway['fetch']>[1],
  body: string,
  tenant = 'acme',
  headers: Record<string, string> = {},
) {
  return t.fetch(`/v1/tenants/${tenant}/scans`, user, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream', 'x-filename': 'upload.txt', ...headers },
  });
}

describe('who is calling', () => {
  it('answers a request without a token 401 with a Bearer challenge, and audits it', async () => {
    const response = await upload(undefined, CLEAN_TEXT);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const error = await errorOf(response);
    expect(error.code).toBe('BREAKWATER_UNAUTHENTICATED');
    expect(error.message).toContain('Authorization: Bearer');
    const line = t.logger.audits('scan').at(-1);
    expect(line).toMatchObject({ outcome: 'unauthenticated', tenant: 'acme', reason: 'missing' });
    expect(line?.subject).toBeUndefined();
  });

  it('answers a header that is not "Bearer <token>" 401 invalid_request', async () => {
    const response = await upload(undefined, CLEAN_TEXT, 'acme', {
      authorization: 'Basic YWxpY2U6cHc=',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_request"');
    expect((await errorOf(response)).code).toBe('BREAKWATER_UNAUTHENTICATED');
  });

  it('answers a token it does not know 401 invalid_token, even one a single character off', async () => {
    const near = `${t.tokens.alice.slice(0, -1)}${t.tokens.alice.endsWith('A') ? 'B' : 'A'}`;
    const response = await upload(undefined, CLEAN_TEXT, 'acme', {
      authorization: `Bearer ${near}`,
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(t.logger.audits('scan').at(-1)).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'unknown',
    });
  });

  it('takes the scheme in any case', async () => {
    const response = await upload(undefined, CLEAN_TEXT, 'acme', {
      authorization: `bearer ${t.tokens.alice}`,
    });
    expect(response.status).toBe(200);
  });
});

describe('what the caller may do', () => {
  it('answers 403 naming the missing permission, and the file reaches no engine', async () => {
    const before = t.gateway.manager.stats();
    const breaker = t.gateway.registry.find('yara');
    const callsBefore = breaker?.metrics().totalRequests;
    const response = await upload('mallory', EICAR);
    expect(response.status).toBe(403);
    expect(response.headers.get('retry-after')).toBeNull();
    const error = await errorOf(response);
    expect(error).toMatchObject({
      code: 'BREAKWATER_FORBIDDEN',
      permission: 'scan',
      resource: 'tenant:acme',
    });
    expect(error.message).toContain('user:mallory');
    const after = t.gateway.manager.stats();
    expect(after.scans).toEqual(before.scans);
    expect(after.engines).toEqual(before.engines);
    expect(after.bytesScanned).toBe(before.bytesScanned);
    expect(breaker?.metrics().totalRequests).toBe(callsBefore);
    expect(t.logger.audits('scan').at(-1)).toMatchObject({
      outcome: 'forbidden',
      subject: 'user:mallory',
      tenant: 'acme',
      permission: 'scan',
      source: 'spicedb',
    });
  });

  it("refuses a member of one tenant for another tenant's scans", async () => {
    const response = await upload('gus', CLEAN_TEXT, 'acme');
    expect(response.status).toBe(403);
    expect((await errorOf(response)).resource).toBe('tenant:acme');
  });

  it('lets a member scan for the tenant', async () => {
    const response = await upload('alice', CLEAN_TEXT);
    expect(response.status).toBe(200);
    expect((await filesOf(response))[0]?.decision).toBe('allow');
  });

  it('refuses a tenant id SpiceDB would refuse, or one with a slash, with 400 naming it', async () => {
    for (const tenant of ['a%20b', 'a%2Fb', 'x'.repeat(1025), '%C3%A9t%C3%A9']) {
      const response = await upload('alice', CLEAN_TEXT, tenant);
      expect(response.status, tenant).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe('BREAKWATER_BAD_TENANT');
      expect(error.message).toContain('is not one SpiceDB accepts');
      expect(t.logger.audits('scan').at(-1)).toMatchObject({
        outcome: 'bad_request',
        code: 'BREAKWATER_BAD_TENANT',
      });
    }
  });

  it('while SpiceDB cannot be asked, answers from earlier decisions and denies the rest with Retry-After', async () => {
    const spicedb = t.gateway.registry.find('spicedb');
    expect(spicedb).toBeDefined();
    // alice was allowed above; adam never asked to scan.
    expect((await upload('alice', CLEAN_TEXT)).status).toBe(200);
    spicedb?.forceOpen();
    try {
      expect((await upload('alice', CLEAN_TEXT)).status).toBe(200);
      const denied = await upload('adam', CLEAN_TEXT);
      expect(denied.status).toBe(403);
      expect(Number(denied.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const error = await errorOf(denied);
      expect(error).toMatchObject({ code: 'BREAKWATER_FORBIDDEN', permission: 'scan' });
      expect(error.message).toContain('SpiceDB cannot be asked');
      expect(t.logger.audits('scan').at(-1)).toMatchObject({
        outcome: 'forbidden',
        subject: 'user:adam',
        source: 'fallback',
      });
    } finally {
      spicedb?.forceClose();
    }
    expect((await upload('adam', CLEAN_TEXT)).status).toBe(200);
  });
});

describe("a SpiceDB whose schema is not the gateway's", () => {
  it("names the definition SpiceDB lacks: the subject's type, or the tenant", async () => {
    const spicedb = await startEmbeddedSpiceDb({
      schema:
        'definition person {}\ndefinition tenant {\n  relation member: person\n  permission scan = member\n}\n',
    });
    const other = await startTestGateway({ spicedb });
    try {
      const response = await other.fetch('/v1/tenants/acme/scans', 'alice', {
        method: 'POST',
        body: CLEAN_TEXT,
        headers: { 'content-type': 'application/octet-stream', 'x-filename': 'a.txt' },
      });
      expect(response.status).toBe(500);
      expect(await errorOf(response)).toMatchObject({
        code: 'BREAKWATER_AUTHZ_SCHEMA',
        message:
          'SpiceDB cannot check "scan" on tenant:acme for user:alice: its schema has no definition "user". Write schema/schema.zed to it (spicedb.applySchema: true does so on start)',
      });
      expect(other.logger.text()).toContain('definition `user` not found');
    } finally {
      await other.close();
      await spicedb.close();
    }
  }, 60_000);
});

describe('answers nothing it was not asked', () => {
  it('answers an unknown route 404 in JSON', async () => {
    const response = await t.fetch('/v2/nothing', 'alice');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await errorOf(response)).toMatchObject({ code: 'BREAKWATER_NOT_FOUND' });
  });

  it('never logs a token, nor shows one through the gateway object', async () => {
    const { inspect } = await import('node:util');
    const text = `${t.logger.text()}\n${inspect(t.gateway, { depth: 6, showHidden: true })}`;
    expect(t.logger.entries.length).toBeGreaterThan(5);
    for (const token of Object.values(t.tokens)) expect(text).not.toContain(token);
    expect(text).not.toContain(t.spicedb.token);
  });
});
