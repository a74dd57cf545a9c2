import { MockScanner } from '@breakwater/scanbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answers,
  BOUNDARY,
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

// The body's limits bound the client, not the gateway: time spent scanning is not the client's,
// and a client that keeps sending is not idle, however slowly whole parts arrive.

let dirs: Dirs;
const apps: TestApp[] = [];

beforeAll(async () => {
  dirs = await makeDirs();
});

afterAll(async () => {
  try {
    await Promise.all(apps.map((app) => app.close()));
  } finally {
    await dirs?.remove();
  }
});

async function app(scanner: MockScanner, limits: Partial<typeof LIMITS>): Promise<TestApp> {
  const started = await startApp(buildManager([scanner], dirs), { ...LIMITS, ...limits });
  apps.push(started);
  return started;
}

describe('the body timeouts', () => {
  it("do not count the gateway's scans of earlier files against a client that sent everything at once", async () => {
    // Four files scanned 600 ms each: 2.4 s of scanning, past the 1.5 s body limit.
    const server = await app(MockScanner.clean().withLatency(600), {
      bodyTimeoutMs: 1_500,
      idleTimeoutMs: 1_000,
    });
    const body = form(
      ...['a', 'b', 'c', 'd'].map((name) => part(name, `${name}.bin`, Buffer.alloc(300_000, 0x61))),
    );
    const client = new RawClient(server.port);
    await client.write(
      Buffer.concat([
        head('/scan', { 'Content-Type': MULTIPART, 'Content-Length': body.byteLength }),
        body,
      ]),
    );
    const response = await client.response;
    client.destroy();
    expect(response.status).toBe(200);
    expect(answers(response).map((file) => file.decision)).toEqual([
      'allow',
      'allow',
      'allow',
      'allow',
    ]);
    await server.nextOutcome();
  });

  it('restart the idle clock on every chunk: a slow field that never goes silent is read', async () => {
    const server = await app(MockScanner.clean(), { idleTimeoutMs: 800, bodyTimeoutMs: 20_000 });
    const field = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n${'n'.repeat(6 * 1024)}\r\n`,
    );
    const body = Buffer.concat([field, form(part('file', 'a.txt', 'hello'))]);
    const client = new RawClient(server.port);
    await client.write(
      head('/scan', { 'Content-Type': MULTIPART, 'Content-Length': body.byteLength }),
    );
    // 1 KiB every 300 ms: the field alone takes about 2 s, never 800 ms without a byte.
    for (let at = 0; at < body.byteLength; at += 1024) {
      await client.write(body.subarray(at, at + 1024));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const response = await client.response;
    client.destroy();
    expect(response.status).toBe(200);
    expect(answers(response).map((file) => file.filename)).toEqual(['a.txt']);
    await server.nextOutcome();
  });
});
