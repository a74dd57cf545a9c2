import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesOf } from './support/answers.js';
import { startTestGateway, type TestGateway } from './support/gateway-harness.js';
import { HOLD_MARKER } from './support/samples.js';

let t: TestGateway;
let id: string;
// Large enough that retrieve's hash of the whole file takes a while: the client leaves during it.
const SIZE = 48 * 1024 * 1024;

beforeAll(async () => {
  t = await startTestGateway();
  const body = Buffer.alloc(SIZE, 'a');
  body.write(HOLD_MARKER, 0);
  const [file] = await filesOf(
    await t.fetch('/v1/tenants/acme/scans', 'alice', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'x-filename': 'big.txt' },
    }),
  );
  if (file?.quarantineId === undefined) throw new Error('big.txt was not quarantined');
  id = file.quarantineId;
}, 120_000);

afterAll(async () => {
  await t?.close();
});

/** This process's open descriptors on the quarantined file. */
function openHandles(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.includes(`${id}.bin`));
}

/** Asks for the download and goes away the moment the gateway has the file open (retrieve hashing it). */
async function leaveDuringRetrieve(tail: string, method: string): Promise<void> {
  const client = request(`${t.url}/v1/tenants/acme/quarantine/${id}${tail}`, {
    method,
    headers: { authorization: `Bearer ${t.tokens.adam}` },
  });
  client.on('error', () => {});
  client.end();
  await expect
    .poll(() => openHandles().length, { interval: 1, timeout: 10_000 })
    .toBeGreaterThan(0);
  client.destroy();
}

describe('a client that leaves while the file is being checked', () => {
  it('leaves no handle on the file and audits the download as failed', async () => {
    const before = t.logger.audits('quarantine_download').length;
    await leaveDuringRetrieve('/content', 'GET');
    await expect.poll(openHandles, { timeout: 5_000 }).toEqual([]);
    await expect
      .poll(() => t.logger.audits('quarantine_download').slice(before), { timeout: 5_000 })
      .toEqual([expect.objectContaining({ outcome: 'failed', subject: 'user:adam', id })]);
  });

  it('leaves the file quarantined on a release cut short, audited as failed', async () => {
    const before = t.logger.audits('quarantine_release').length;
    await leaveDuringRetrieve('/release', 'POST');
    await expect.poll(openHandles, { timeout: 5_000 }).toEqual([]);
    await expect
      .poll(() => t.logger.audits('quarantine_release').slice(before), { timeout: 5_000 })
      .toEqual([expect.objectContaining({ outcome: 'failed', subject: 'user:adam', id })]);
    expect((await t.gateway.quarantine.get(id)).id).toBe(id);
  });
});
