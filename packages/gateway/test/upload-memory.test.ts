import { request } from 'node:http';
import { MockScanner } from '@breakwater/scanbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOUNDARY,
  buildManager,
  type Dirs,
  type FileAnswer,
  LIMITS,
  MULTIPART,
  makeDirs,
  startApp,
  type TestApp,
} from './upload-harness.js';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
/** The bound is "never held whole in memory"; a copy of the file would be 200 MB. */
const MAX_GROWTH = 100 * MiB;

let dirs: Dirs;
let mock: MockScanner;
let server: TestApp;

beforeAll(async () => {
  dirs = await makeDirs();
  mock = MockScanner.clean();
  const limits = { ...LIMITS, maxFileSize: 256 * MiB, bodyTimeoutMs: 60_000 };
  server = await startApp(buildManager([mock], dirs, limits.maxFileSize), limits);
});

afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await dirs?.remove();
  }
});

/**
 * Uploads `SIZE` bytes (one 1 MiB buffer sent again and again, so the client holds no copy
 * either) and samples this process's RSS meanwhile; the server runs in this process too.
 */
async function upload(
  headers: Record<string, string | number>,
  prefix: Buffer,
  suffix: Buffer,
): Promise<{ status: number; body: string; growth: number }> {
  const chunk = Buffer.alloc(MiB, 0x41);
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/scan',
          headers: { ...headers, 'Content-Length': prefix.length + SIZE + suffix.length },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (data: string) => {
            body += data;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      const send = async (): Promise<void> => {
        const write = (data: Buffer) =>
          new Promise<void>((done) => {
            if (req.write(data)) done();
            else req.once('drain', () => done());
          });
        await write(prefix);
        for (let sent = 0; sent < SIZE; sent += MiB) await write(chunk);
        await write(suffix);
        req.end();
      };
      send().catch(reject);
    });
    return { ...response, growth: Math.max(0, peak - baseline) };
  } finally {
    clearInterval(sampler);
  }
}

describe('a 200 MB upload', () => {
  it('streams through as a raw body: RSS grows far less than the file, nothing left spooled', async () => {
    const { status, body, growth } = await upload(
      { 'Content-Type': 'application/octet-stream', 'X-Filename': 'big.bin' },
      Buffer.alloc(0),
      Buffer.alloc(0),
    );
    expect(status).toBe(200);
    const [file] = JSON.parse(body) as FileAnswer[];
    expect(file).toMatchObject({ filename: 'big.bin', size: SIZE, decision: 'allow' });
    expect(growth).toBeLessThan(MAX_GROWTH);
    expect(await dirs.spooled()).toEqual([]);
    await server.nextOutcome();
  }, 60_000);

  it('streams through as a multipart file: RSS grows far less than the file', async () => {
    const prefix = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const suffix = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    const { status, body, growth } = await upload({ 'Content-Type': MULTIPART }, prefix, suffix);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toMatchObject([{ filename: 'big.bin', size: SIZE }]);
    expect(growth).toBeLessThan(MAX_GROWTH);
    expect(await dirs.spooled()).toEqual([]);
    await server.nextOutcome();
  }, 60_000);
});
