import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { MockScanner } from '@breakwater/scanbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, startTestSpiceDb, type TestGateway } from './support/gateway-harness.js';
import {
  buildManager,
  type Dirs,
  form,
  head,
  LIMITS,
  MULTIPART,
  makeDirs,
  part,
  RawClient,
  startApp,
  type TestApp,
} from './upload-harness.js';

// Expect: 100-continue: the client holds its body back until told to send it. The gateway
// says so only when something reads the body: a refusal (401, 403, 413 by Content-Length)
// comes instead of 100 Continue, and no byte of an unwanted upload is sent for nothing.

let dirs: Dirs;
let server: TestApp;
let spicedb: EmbeddedSpiceDb;
let gateway: TestGateway;

beforeAll(async () => {
  dirs = await makeDirs();
  server = await startApp(buildManager([MockScanner.clean()], dirs));
  spicedb = await startTestSpiceDb();
  gateway = await startTestGateway({ spicedb });
}, 60_000);

afterAll(async () => {
  try {
    await server?.close();
    await gateway?.close();
    await spicedb?.close();
  } finally {
    await dirs?.remove();
  }
});

/** The status of the first response head the server sends: 100, or the final answer. */
async function firstStatus(client: RawClient): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const text = client.text();
    if (text.includes('\r\n\r\n')) return Number(text.split(' ')[1]);
    if (client.socket.destroyed) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no response head: ${JSON.stringify(client.text())}`);
}

/** Sends the head of an upload that waits for 100 Continue; resolves with what came first. */
async function ask(port: number, path: string, headers: Record<string, string | number>) {
  const client = new RawClient(port);
  await client.write(head(path, { Expect: '100-continue', ...headers }));
  return { client, status: await firstStatus(client) };
}

describe('Expect: 100-continue', () => {
  it('answers a refusal before reading (403) in place of 100 Continue', async () => {
    const { client, status } = await ask(server.port, '/refused', { 'Content-Length': 50_000 });
    expect(status).toBe(403);
    expect(client.text()).not.toContain('100 Continue');
    client.destroy();
  });

  it('answers 413 for a Content-Length past the limit, never asking for the body', async () => {
    const { client, status } = await ask(server.port, '/scan', {
      'Content-Length': LIMITS.maxFileSize + 1,
      'X-Filename': 'big.bin',
    });
    expect(status).toBe(413);
    expect(client.text()).not.toContain('100 Continue');
    client.destroy();
    expect((await server.nextOutcome()) as object).toHaveProperty('error');
  });

  it('sends 100 Continue once the upload is read, raw and multipart, then the verdict', async () => {
    const raw = await ask(server.port, '/scan', { 'Content-Length': 5, 'X-Filename': 'a.txt' });
    expect(raw.status).toBe(100);
    await raw.client.write('hello');
    await expect.poll(() => raw.client.text()).toMatch(/HTTP\/1\.1 200 OK/);
    raw.client.destroy();
    await server.nextOutcome();
    const body = form(part('file', 'b.txt', 'hello'));
    const multipart = await ask(server.port, '/scan', {
      'Content-Type': MULTIPART,
      'Content-Length': body.byteLength,
    });
    expect(multipart.status).toBe(100);
    await multipart.client.write(body);
    await expect.poll(() => multipart.client.text()).toMatch(/HTTP\/1\.1 200 OK/);
    multipart.client.destroy();
    await server.nextOutcome();
  });

  it('sends 100 Continue on a route outside the scan routes that reads its body', async () => {
    const json = '{"a":1}';
    const { client, status } = await ask(server.port, '/json', {
      'Content-Type': 'application/json',
      'Content-Length': json.length,
    });
    expect(status).toBe(100);
    await client.write(json);
    await expect.poll(() => client.text()).toContain('{"echo":{"a":1}}');
    client.destroy();
  });

  it('on the gateway: 401 without a token, 403 without scan, before any byte is asked for', async () => {
    const port = Number(new URL(gateway.url).port);
    const headers = { 'Content-Length': 50_000_000, 'X-Filename': 'big.bin' };
    const anonymous = await ask(port, '/v1/tenants/acme/scans', headers);
    expect(anonymous.status).toBe(401);
    anonymous.client.destroy();
    const mallory = await ask(port, '/v1/tenants/acme/scans', {
      ...headers,
      Authorization: `Bearer ${gateway.tokens.mallory}`,
    });
    expect(mallory.status).toBe(403);
    expect(mallory.client.text()).not.toContain('100 Continue');
    mallory.client.destroy();
    const alice = await ask(port, '/v1/tenants/acme/scans', {
      'Content-Length': 5,
      'X-Filename': 'a.txt',
      Authorization: `Bearer ${gateway.tokens.alice}`,
    });
    expect(alice.status).toBe(100);
    await alice.client.write('hello');
    await expect.poll(() => alice.client.text()).toMatch(/HTTP\/1\.1 200 OK/);
    alice.client.destroy();
  });
});
