import { createServer, type Server, type Socket } from 'node:net';
import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, startTestSpiceDb, type TestGateway } from './support/gateway-harness.js';
import { head, RawClient } from './upload-harness.js';

// A scan the client stops waiting for (it hung up, or the gateway is stopping) is not a failure
// of the gateway: audited with what happened, logged without an error line or a stack.

let spicedb: EmbeddedSpiceDb;
/** A clamd that takes every scan and never answers, so a scan stays in progress. */
let silent: Server;
let port: number;
const sessions: Socket[] = [];
let started: (() => void) | undefined;

beforeAll(async () => {
  spicedb = await startTestSpiceDb();
  silent = createServer((socket) => {
    sessions.push(socket);
    socket.on('error', () => {});
    socket.once('data', () => started?.());
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
}, 60_000);

afterAll(async () => {
  for (const socket of sessions) socket.destroy();
  await new Promise<void>((resolve) => silent?.close(() => resolve()));
  await spicedb?.close();
});

async function gateway(closeGraceMs?: number): Promise<TestGateway> {
  return startTestGateway({
    spicedb,
    engines: [
      { type: 'yara', name: 'yara', rules: 'rule never { condition: false }' },
      { type: 'clamav', name: 'clamd', address: `127.0.0.1:${port}` },
    ],
    ...(closeGraceMs === undefined ? {} : { closeGraceMs }),
  });
}

/** Sends a whole upload and resolves once clamd is reading it: the scan is under way. */
async function uploadUntilScanning(t: TestGateway): Promise<RawClient> {
  const scanning = new Promise<void>((resolve) => {
    started = resolve;
  });
  const client = new RawClient(Number(new URL(t.url).port));
  await client.write(
    Buffer.concat([
      head('/v1/tenants/acme/scans', {
        Authorization: `Bearer ${t.tokens.alice}`,
        'Content-Type': 'application/octet-stream',
        'Content-Length': 5,
        'X-Filename': 'hello.txt',
      }),
      Buffer.from('hello'),
    ]),
  );
  await scanning;
  return client;
}

function errorLines(t: TestGateway) {
  return t.logger.entries.filter((entry) => entry.level === 'error');
}

describe('a scan nobody waits for any more', () => {
  it('is audited as the client gone, at warn, when the client hangs up mid-scan', async () => {
    const t = await gateway();
    try {
      const client = await uploadUntilScanning(t);
      client.destroy();
      await expect.poll(() => t.logger.audits('scan').length, { timeout: 5_000 }).toBe(1);
      const [line] = t.logger.audits('scan');
      expect(line).toMatchObject({ code: 'BREAKWATER_UPLOAD_CLIENT_GONE', subject: 'user:alice' });
      expect(line?.outcome).not.toBe('failed');
      const entry = t.logger.entries.find((candidate) => candidate.fields === line);
      expect(entry?.level).toBe('warn');
      expect(errorLines(t)).toEqual([]);
      expect(t.logger.text()).not.toMatch(/stack/);
    } finally {
      await t.close();
    }
  });

  it('is audited as the gateway stopping when its grace period ends mid-scan', async () => {
    const t = await gateway(200);
    const client = await uploadUntilScanning(t);
    try {
      await t.close();
      const [line] = t.logger.audits('scan');
      expect(line).toMatchObject({ code: 'BREAKWATER_UPLOAD_SHUTTING_DOWN' });
      expect(errorLines(t)).toEqual([]);
    } finally {
      client.destroy();
    }
  });
});
