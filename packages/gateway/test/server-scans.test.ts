import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleSamples } from './rule-samples.js';
import {
  type ClamavRestJson,
  errorOf,
  filesOf,
  jsonOf,
  type ReadyJson,
  type ScanJson,
} from './support/answers.js';
import {
  form,
  startTestGateway,
  startTestSpiceDb,
  type TestGateway,
} from './support/gateway-harness.js';
import { CLEAN_TEXT, EICAR, HOLD_MARKER, TEST_RULES } from './support/samples.js';

let spicedb: EmbeddedSpiceDb;
let t: TestGateway;

beforeAll(async () => {
  spicedb = await startTestSpiceDb();
  t = await startTestGateway({ spicedb });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await spicedb?.close();
});

function raw(
  target: TestGateway,
  body: string,
  filename: string,
  user: 'alice' | 'gus' = 'alice',
  tenant = 'acme',
) {
  return target.fetch(`/v1/tenants/${tenant}/scans`, user, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream', 'x-filename': filename },
  });
}

describe('POST /v1/tenants/:tenant/scans', () => {
  it('blocks EICAR, as the default policy does with anything infected, and answers 200 with the verdict', async () => {
    const response = await raw(t, EICAR, 'eicar.com');
    expect(response.status).toBe(200);
    const body = await jsonOf<ScanJson>(response);
    expect(body.tenant).toBe('acme');
    expect(body.files).toHaveLength(1);
    const [file] = body.files;
    expect(file).toMatchObject({
      filename: 'eicar.com',
      size: EICAR.length,
      decision: 'block',
      outcome: 'infected',
      threats: [{ name: 'Eicar_Test_File', engine: 'yara', severity: 'critical' }],
      engines: [{ name: 'yara', outcome: 'infected' }],
    });
    expect(file?.sha256).toBe('275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f');
    expect(file?.reason).toEqual(expect.any(String));
    expect(file?.quarantineId).toBeUndefined();
    expect(t.logger.audits('scan').at(-1)).toMatchObject({
      outcome: 'ok',
      subject: 'user:alice',
      tenant: 'acme',
      files: [{ filename: 'eicar.com', decision: 'block' }],
    });
  });

  it('allows a clean file', async () => {
    const response = await raw(t, CLEAN_TEXT, 'figures.txt');
    expect(response.status).toBe(200);
    const [file] = await filesOf(response);
    expect(file).toMatchObject({
      decision: 'allow',
      outcome: 'clean',
      threats: [],
      engines: [{ name: 'yara', outcome: 'clean' }],
    });
  });

  it('quarantines a suspicious file and says where', async () => {
    const response = await raw(t, `notes ${HOLD_MARKER} end`, 'notes.txt');
    const [file] = await filesOf(response);
    expect(file).toMatchObject({ decision: 'quarantine', outcome: 'suspicious' });
    expect(file?.quarantineId).toMatch(/^[0-9a-f-]{36}$/);
    const record = await t.gateway.quarantine.get(file?.quarantineId ?? '');
    expect(record).toMatchObject({ tenantId: 'acme', filename: 'notes.txt', sha256: file?.sha256 });
  });

  it('scans every file of a multipart form, in order', async () => {
    const response = await t.fetch('/v1/tenants/acme/scans', 'alice', {
      method: 'POST',
      body: form([
        ['a.txt', CLEAN_TEXT],
        ['b.com', EICAR],
      ]),
    });
    expect(response.status).toBe(200);
    const files = await filesOf(response);
    expect(files.map((f) => [f.filename, f.decision])).toEqual([
      ['a.txt', 'allow'],
      ['b.com', 'block'],
    ]);
  });

  it("answers the upload's own refusals with their status and code", async () => {
    const noName = await t.fetch('/v1/tenants/acme/scans', 'alice', {
      method: 'POST',
      body: CLEAN_TEXT,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(noName.status).toBe(400);
    expect((await errorOf(noName)).code).toBe('BREAKWATER_UPLOAD_FILENAME_REQUIRED');
    const traversal = await raw(t, CLEAN_TEXT, '../etc/passwd');
    expect(traversal.status).toBe(400);
    expect((await errorOf(traversal)).code).toBe('BREAKWATER_UPLOAD_BAD_FILENAME');
    expect(t.logger.audits('scan').at(-1)).toMatchObject({
      outcome: 'bad_request',
      code: 'BREAKWATER_UPLOAD_BAD_FILENAME',
    });
  });

  it('answers 503 with Retry-After when every engine is down, and /readyz says critical', async () => {
    const yara = t.gateway.registry.find('yara');
    expect((await t.fetch('/readyz', undefined)).status).toBe(200);
    yara?.forceOpen();
    try {
      const response = await raw(t, CLEAN_TEXT, 'c.txt');
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await errorOf(response)).code).toBe('BREAKWATER_UPLOAD_ENGINES_UNAVAILABLE');
      const ready = await t.fetch('/readyz', undefined);
      expect(ready.status).toBe(503);
      const body = await jsonOf<ReadyJson>(ready);
      expect(body.status).toBe('critical');
      expect(body.breakers).toContainEqual(
        expect.objectContaining({ name: 'yara', state: 'open' }),
      );
    } finally {
      yara?.forceClose();
    }
    expect((await t.fetch('/readyz', undefined)).status).toBe(200);
  });
});

describe('POST /api/v1/scan (clamav-rest-api)', () => {
  it("answers in clamav-rest-api's shape for the token's default tenant", async () => {
    const response = await t.fetch('/api/v1/scan', 'alice', {
      method: 'POST',
      body: form(
        [
          ['eicar.com', EICAR],
          ['clean.txt', CLEAN_TEXT],
          ['held.txt', HOLD_MARKER],
        ],
        'FILES',
      ),
    });
    expect(response.status).toBe(200);
    expect(await jsonOf<ClamavRestJson>(response)).toEqual({
      success: true,
      data: {
        result: [
          { name: 'eicar.com', is_infected: true, viruses: ['Eicar_Test_File'] },
          { name: 'clean.txt', is_infected: false, viruses: [] },
          { name: 'held.txt', is_infected: true, viruses: ['Breakwater.Quarantined'] },
        ],
      },
    });
    expect(t.logger.audits('scan').at(-1)).toMatchObject({
      outcome: 'ok',
      subject: 'user:alice',
      tenant: 'acme',
      endpoint: 'clamav-rest',
    });
  });

  it('answers its errors in its shape: no token, no default tenant, no permission, no FILES', async () => {
    const body = () => form([['clean.txt', CLEAN_TEXT]], 'FILES');
    const anonymous = await t.fetch('/api/v1/scan', undefined, { method: 'POST', body: body() });
    expect(anonymous.status).toBe(401);
    expect(await jsonOf<ClamavRestJson>(anonymous)).toMatchObject({
      success: false,
      data: { error: expect.any(String), code: 'BREAKWATER_UNAUTHENTICATED' },
    });
    const nora = await t.fetch('/api/v1/scan', 'nora', { method: 'POST', body: body() });
    expect(nora.status).toBe(400);
    expect(await jsonOf<ClamavRestJson>(nora)).toMatchObject({
      success: false,
      data: { code: 'BREAKWATER_NO_DEFAULT_TENANT' },
    });
    const mallory = await t.fetch('/api/v1/scan', 'mallory', { method: 'POST', body: body() });
    expect(mallory.status).toBe(403);
    expect(await jsonOf<ClamavRestJson>(mallory)).toMatchObject({
      success: false,
      data: { code: 'BREAKWATER_FORBIDDEN' },
    });
    const wrongField = await t.fetch('/api/v1/scan', 'alice', {
      method: 'POST',
      body: form([['clean.txt', CLEAN_TEXT]], 'file'),
    });
    expect(wrongField.status).toBe(400);
    expect(await jsonOf<ClamavRestJson>(wrongField)).toMatchObject({
      success: false,
      data: { code: 'BREAKWATER_UPLOAD_NO_FILE' },
    });
    const rawBody = await t.fetch('/api/v1/scan', 'alice', {
      method: 'POST',
      body: CLEAN_TEXT,
      headers: { 'content-type': 'application/octet-stream', 'x-filename': 'clean.txt' },
    });
    expect(rawBody.status).toBe(415);
    expect(await jsonOf<ClamavRestJson>(rawBody)).toMatchObject({
      success: false,
      data: { code: 'BREAKWATER_UPLOAD_UNSUPPORTED_MEDIA_TYPE' },
    });
  });
});

describe('two engines', () => {
  it('is degraded with one engine open and critical with both', async () => {
    const two = await startTestGateway({
      spicedb,
      engines: [
        { type: 'yara', name: 'yara', rules: TEST_RULES },
        { type: 'yara', name: 'yara-second', rules: TEST_RULES },
      ],
    });
    try {
      two.gateway.registry.find('yara')?.forceOpen();
      const degraded = await two.fetch('/readyz', undefined);
      expect(degraded.status).toBe(200);
      expect((await jsonOf<ReadyJson>(degraded)).status).toBe('degraded');
      const response = await raw(two, EICAR, 'eicar.com');
      const [file] = await filesOf(response);
      expect(file?.decision).toBe('block');
      expect(file?.engines).toEqual(
        expect.arrayContaining([
          { name: 'yara-second', outcome: 'infected' },
          { name: 'yara', outcome: 'failed', error: 'circuit_open' },
        ]),
      );
      two.gateway.registry.find('yara-second')?.forceOpen();
      const critical = await two.fetch('/readyz', undefined);
      expect(critical.status).toBe(503);
      expect((await jsonOf<ReadyJson>(critical)).status).toBe('critical');
    } finally {
      await two.close();
    }
  }, 30_000);
});

describe('with the shipped rule set', () => {
  it('answers each rule sample with the decision the default policy gives its outcome', async () => {
    const shipped = await startTestGateway({ spicedb, engines: [{ type: 'yara', name: 'yara' }] });
    const decisionOf = { clean: 'allow', infected: 'block', suspicious: 'quarantine' } as const;
    try {
      for (const sample of ruleSamples()) {
        const response = await shipped.fetch('/v1/tenants/acme/scans', 'alice', {
          method: 'POST',
          body: new Uint8Array(sample.bytes),
          headers: { 'content-type': 'application/octet-stream', 'x-filename': sample.filename },
        });
        expect(response.status, sample.name).toBe(200);
        const [file] = await filesOf(response);
        expect([file?.outcome, file?.decision], sample.name).toEqual([
          sample.expect.outcome,
          decisionOf[sample.expect.outcome],
        ]);
        if (sample.expect.outcome === 'infected') {
          expect(
            file?.threats.map((threat) => threat.name),
            sample.name,
          ).toContain(sample.expect.rule);
        }
      }
    } finally {
      await shipped.close();
    }
  }, 60_000);
});

describe('an engine failure, as the client sees it', () => {
  it('names each engine and its failure kind in the 503, and keeps the details for the log', async () => {
    const socket = '/nonexistent-breakwater-internal/clamd.sock';
    const down = await startTestGateway({
      spicedb,
      engines: [{ type: 'clamav', name: 'clamav', address: socket }],
    });
    try {
      const response = await raw(down, CLEAN_TEXT, 'a.txt');
      expect(response.status).toBe(503);
      const requestId = response.headers.get('x-request-id');
      const { code, message } = await errorOf(response);
      expect(code).toBe('BREAKWATER_UPLOAD_ENGINES_UNAVAILABLE');
      expect(message).toBe(
        `Every malware engine failed, so there is no verdict on "a.txt"; retry in 5 s. clamav: connection_failed. The gateway's log has the details under request id ${requestId}`,
      );
      expect(down.logger.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          fields: expect.objectContaining({
            event: 'gateway_scan_failed',
            requestId,
            error: expect.stringContaining(socket),
          }),
        }),
      );
    } finally {
      await down.close();
    }
  }, 30_000);
});
