import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorOf,
  filesOf,
  jsonOf,
  type QuarantineItemJson,
  type QuarantineListJson,
} from './support/answers.js';
import { startTestGateway, type TestGateway, type User } from './support/gateway-harness.js';
import { HOLD_MARKER } from './support/samples.js';

let t: TestGateway;
/** Files the policy held back: two of acme's, one of globex's. */
let acme: string[];
let globex: string;
const heldText = (n: number) => `memo ${n}: ${HOLD_MARKER}\n`;

async function hold(user: User, tenant: string, filename: string, text: string): Promise<string> {
  const response = await t.fetch(`/v1/tenants/${tenant}/scans`, user, {
    method: 'POST',
    body: text,
    headers: { 'content-type': 'application/octet-stream', 'x-filename': filename },
  });
  const [file] = await filesOf(response);
  if (file?.quarantineId === undefined) throw new Error(`${filename} was not quarantined`);
  return file.quarantineId;
}

beforeAll(async () => {
  t = await startTestGateway();
  acme = [
    await hold('alice', 'acme', 'memo "1".txt', heldText(1)),
    await hold('alice', 'acme', 'memo-2.txt', heldText(2)),
  ];
  globex = await hold('gus', 'globex', 'globex.txt', heldText(3));
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const path = (id = '', tail = '', tenant = 'acme') =>
  `/v1/tenants/${tenant}/quarantine${id === '' ? '' : `/${id}`}${tail}`;

describe('reading the quarantine', () => {
  it("lists the tenant's files, and only those, to a reviewer", async () => {
    const response = await t.fetch(path(), 'rita');
    expect(response.status).toBe(200);
    const body = await jsonOf<QuarantineListJson>(response);
    expect(body.tenant).toBe('acme');
    expect(body.items.map((item) => item.id).sort()).toEqual([...acme].sort());
    expect(body.items[0]).toMatchObject({
      outcome: 'suspicious',
      reason: expect.any(String),
      size: heldText(1).length,
    });
    expect(t.logger.audits('quarantine_list').at(-1)).toMatchObject({
      outcome: 'ok',
      subject: 'user:rita',
      tenant: 'acme',
      count: 2,
    });
  });

  it('refuses a member without review 403, naming the permission', async () => {
    const response = await t.fetch(path(), 'alice');
    expect(response.status).toBe(403);
    expect(await errorOf(response)).toMatchObject({
      permission: 'review',
      resource: 'tenant:acme',
    });
    expect(t.logger.audits('quarantine_list').at(-1)).toMatchObject({
      outcome: 'forbidden',
      subject: 'user:alice',
    });
  });

  it('gives one record to a reviewer (and to an admin, whom review includes)', async () => {
    for (const user of ['rita', 'adam'] as const) {
      const response = await t.fetch(path(acme[1]), user);
      expect(response.status).toBe(200);
      const { item } = await jsonOf<QuarantineItemJson>(response);
      expect(item).toMatchObject({ id: acme[1], filename: 'memo-2.txt', outcome: 'suspicious' });
      expect(item.engines).toEqual([{ name: 'yara', outcome: 'suspicious' }]);
    }
    expect(t.logger.audits('quarantine_view').at(-1)).toMatchObject({
      outcome: 'ok',
      subject: 'user:adam',
      id: acme[1],
    });
  });

  it("answers another tenant's id exactly as an id that does not exist: 404", async () => {
    const foreign = await t.fetch(path(globex), 'rita');
    const missing = await t.fetch(path('00000000-0000-4000-8000-000000000000'), 'rita');
    const malformed = await t.fetch(path('not-an-id'), 'rita');
    for (const response of [foreign, missing, malformed]) {
      expect(response.status).toBe(404);
      expect((await errorOf(response)).code).toBe('BREAKWATER_QUARANTINE_NOT_FOUND');
    }
    // And globex's own admin sees it under globex, never under acme.
    expect((await t.fetch(path(globex, '', 'globex'), 'gus')).status).toBe(200);
    expect((await t.fetch(path(acme[0], '', 'globex'), 'gus')).status).toBe(404);
    expect(t.logger.audits('quarantine_view')).toContainEqual(
      expect.objectContaining({ outcome: 'not_found', subject: 'user:rita', id: globex }),
    );
  });

  it('streams the file as a download no browser renders', async () => {
    const response = await t.fetch(path(acme[0], '/content'), 'rita');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="memo__1_.txt"; filename*=UTF-8''memo%20%221%22.txt`,
    );
    expect(await response.text()).toBe(heldText(1));
    // Written once the answer is over, which the client may see first.
    await expect
      .poll(() => t.logger.audits('quarantine_download').at(-1))
      .toMatchObject({
        outcome: 'ok',
        subject: 'user:rita',
        id: acme[0],
      });
  });

  it('has no HEAD for a download (it would read and audit a file it never sends)', async () => {
    const before = t.logger.audits('quarantine_download').length;
    const response = await t.fetch(path(acme[0], '/content'), 'rita', { method: 'HEAD' });
    expect(response.status).toBe(404);
    expect(t.logger.audits('quarantine_download')).toHaveLength(before);
  });

  it('refuses the download to a caller without review', async () => {
    const response = await t.fetch(path(acme[0], '/content'), 'mallory');
    expect(response.status).toBe(403);
    expect(t.logger.audits('quarantine_download').at(-1)).toMatchObject({
      outcome: 'forbidden',
      subject: 'user:mallory',
      id: acme[0],
    });
  });
});

describe('acting on the quarantine', () => {
  it('lets only an admin release: the file comes back and leaves the quarantine', async () => {
    const refused = await t.fetch(path(acme[0], '/release'), 'rita', { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(await errorOf(refused)).toMatchObject({ permission: 'manage' });
    const released = await t.fetch(path(acme[0], '/release'), 'adam', { method: 'POST' });
    expect(released.status).toBe(200);
    expect(released.headers.get('content-type')).toBe('application/octet-stream');
    expect(await released.text()).toBe(heldText(1));
    await expect.poll(async () => (await t.fetch(path(acme[0]), 'adam')).status).toBe(404);
    expect(t.logger.audits('quarantine_release')).toEqual([
      expect.objectContaining({ outcome: 'forbidden', subject: 'user:rita', id: acme[0] }),
      expect.objectContaining({ outcome: 'ok', subject: 'user:adam', tenant: 'acme', id: acme[0] }),
    ]);
  });

  it('lets only an admin delete, and leaves nothing of the file behind', async () => {
    const refused = await t.fetch(path(acme[1]), 'rita', { method: 'DELETE' });
    expect(refused.status).toBe(403);
    const deleted = await t.fetch(path(acme[1]), 'adam', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await jsonOf(deleted)).toEqual({ tenant: 'acme', id: acme[1], deleted: true });
    expect((await t.fetch(path(acme[1]), 'adam', { method: 'DELETE' })).status).toBe(404);
    const left = await readdir(t.config.quarantine.dir);
    expect(left.filter((name) => name.startsWith(acme[1] ?? '-'))).toEqual([]);
    expect(
      t.logger.audits('quarantine_delete').map((line) => [line.subject, line.outcome]),
    ).toEqual([
      ['user:rita', 'forbidden'],
      ['user:adam', 'ok'],
      ['user:adam', 'not_found'],
    ]);
  });

  it("cannot touch another tenant's file through its own tenant's path", async () => {
    expect((await t.fetch(path(globex), 'adam', { method: 'DELETE' })).status).toBe(404);
    expect((await t.fetch(path(globex, '/release'), 'adam', { method: 'POST' })).status).toBe(404);
    expect((await t.gateway.quarantine.get(globex)).tenantId).toBe('globex');
  });

  it('answers without a token 401, before looking anything up', async () => {
    const response = await t.fetch(path(globex), undefined, { method: 'DELETE' });
    expect(response.status).toBe(401);
    expect(t.logger.audits('quarantine_delete').at(-1)).toMatchObject({
      outcome: 'unauthenticated',
      id: globex,
    });
  });
});

describe('a record the gateway cannot read', () => {
  it('is a 500 that says only the request id, audited as failed with the caller', async () => {
    const id = await hold('alice', 'acme', 'memo-9.txt', heldText(9));
    await writeFile(join(t.config.quarantine.dir, `${id}.json`), '{ not json');
    const response = await t.fetch(path(id), 'rita');
    expect(response.status).toBe(500);
    const error = await errorOf(response);
    expect(error.code).toBe('BREAKWATER_INTERNAL');
    expect(error.message).toContain(response.headers.get('x-request-id') ?? '-');
    expect(error.message).not.toContain(id);
    expect(t.logger.audits('quarantine_view').at(-1)).toMatchObject({
      outcome: 'failed',
      subject: 'user:rita',
      id,
      code: 'SCANBRIDGE_QUARANTINE_CORRUPT_RECORD',
    });
    expect(t.logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        fields: expect.objectContaining({ event: 'gateway_error' }),
      }),
    );
  });
});
