import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput } from '../src/index.js';
import { type FakeScan, useFakeClamd } from './clamd-fake.js';
import { failure } from './helpers.js';

const fakeClamd = useFakeClamd();

/** clamd with StreamMaxLength 100 000 that refuses on a session as `refuse` says. */
function limited(refuse: (scan: FakeScan) => void) {
  return fakeClamd({
    scan(scan) {
      if (scan.content.byteLength <= 100_000) return 'stream: OK';
      if (scan.inSession) {
        refuse(scan);
        return undefined;
      }
      return 'INSTREAM size limit exceeded. ERROR';
    },
  });
}

const sized = (size: number) => FileInput.fromBytes(new Uint8Array(size).fill(1));
/** Where each scan of these sizes, one after another, went: session or alone. */
async function placements(scanner: ClamAvScanner, fake: { scans: FakeScan[] }, sizes: number[]) {
  for (const size of sizes) {
    const before = fake.scans.length;
    await scanner.scan(sized(size)).catch((error: { kind: string }) => {
      expect(error.kind).toBe('file_too_large');
    });
    expect(fake.scans.length).toBeGreaterThan(before);
  }
  return fake.scans.map((scan) => `${scan.content.byteLength}:${scan.inSession ? 's' : 'a'}`);
}

describe('clamd refusing a held input for its size (a StreamMaxLength below 256 KiB)', () => {
  it('lowers the session bound to the largest size clamd took, so inputs a little smaller go alone too', async () => {
    const fake = await limited((scan) =>
      scan.socket.end(`${scan.request}: INSTREAM size limit exceeded. ERROR\0`),
    );
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1 });
    expect(await placements(scanner, fake, [90_000, 119_999, 110_000, 95_000])).toEqual([
      '90000:s',
      '119999:s',
      '110000:a',
      '95000:a',
    ]);
    expect(fake.sessions()).toBe(1);
    await scanner.close();
  });

  it('learns the bound when clamd resets the session before its refusal is read', async () => {
    const fake = await limited((scan) => scan.socket.resetAndDestroy());
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1 });
    expect((await failure(scanner.scan(sized(150_000)))).kind).toBe('file_too_large');
    expect(await placements(scanner, fake, [140_000])).toEqual([
      '150000:s',
      '150000:a',
      '140000:a',
    ]);
    expect(fake.sessions()).toBe(1);
    await scanner.close();
  });
});
