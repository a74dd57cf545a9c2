import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput, ScanError } from '../src/index.js';
import { useClamd } from './clamd.js';
import { useFakeClamd } from './clamd-fake.js';
import { bytes, EICAR, failingStream, failure } from './helpers.js';

// StreamMaxLength 1M (the harness's default), so a file over it is quick to send.
const clamd = useClamd();
const fakeClamd = useFakeClamd();

const eicar = () => FileInput.fromBytes(bytes(EICAR), 'eicar.com');
const MiB = 1024 * 1024;

describe('every error out of ClamAvScanner.scan is a ScanError', () => {
  it('clamd refusing the stream while it is still being sent is file_too_large', async () => {
    const fake = await fakeClamd({
      chunk(received, socket, request) {
        if (received < 100_000) return;
        socket.end(`${request}: INSTREAM size limit exceeded. ERROR\0`);
      },
    });
    for (const maxSessions of [4, 0]) {
      const scanner = new ClamAvScanner({ port: fake.port, maxSessions, chunkSize: 16_384 });
      for (const input of [
        FileInput.fromBytes(new Uint8Array(4 * MiB), 'big.bin'),
        FileInput.fromStream(chunksOf(64, 64 * 1024)),
      ]) {
        const error = await failure(scanner.scan(input));
        expect(error).toMatchObject({
          kind: 'file_too_large',
          message: expect.stringContaining('INSTREAM size limit exceeded'),
        });
      }
      await scanner.close();
    }
  });

  it('clamd closing mid-upload is connection_failed, for a large stream sent alone and for small bytes sent again', async () => {
    const fake = await fakeClamd({
      chunk: (_received, socket) => socket.destroy(),
    });
    const scanner = new ClamAvScanner({ port: fake.port, chunkSize: 1_024 });
    // Over what a session takes: read as it is sent, on a connection of its own, read once.
    const stream = await failure(scanner.scan(FileInput.fromStream(chunksOf(128, 4_096))));
    expect(stream).toMatchObject({ kind: 'connection_failed' });
    expect(fake.connections()).toBe(1);
    const again = await failure(scanner.scan(FileInput.fromBytes(new Uint8Array(64 * 1_024))));
    expect(again.kind).toBe('connection_failed');
    // The small input was in memory, so it went again: on a connection of its own, which broke too.
    expect(fake.connections()).toBe(3);
    await scanner.close();
  });

  it("a caller's abort with any reason, and an input that fails, are ScanErrors", async () => {
    const fake = await fakeClamd({ scan: () => undefined });
    const scanner = new ClamAvScanner({ port: fake.port });
    const controller = new AbortController();
    const scanning = failure(scanner.scan(eicar(), { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('the user went away')), 10);
    const cancelled = await scanning;
    expect(cancelled).toMatchObject({ kind: 'cancelled', engine: 'clamav' });
    expect((cancelled.cause as Error).message).toBe('the user went away');
    expect(await failure(scanner.scan(eicar(), { signal: AbortSignal.abort() }))).toMatchObject({
      kind: 'cancelled',
    });
    const broken = await failure(scanner.scan(FileInput.fromStream(failingStream(2))));
    expect(broken).toBeInstanceOf(ScanError);
    expect(broken.message).toContain('socket hang up');
    await scanner.close();
  });
});

describe('engineVersion', () => {
  it('is on every result from the first scan on, asked with one VERSION per scanner', async () => {
    for (const maxSessions of [2, 0]) {
      const fake = await fakeClamd();
      const scanner = new ClamAvScanner({ port: fake.port, maxSessions });
      const results = await Promise.all(Array.from({ length: 12 }, () => scanner.scan(eicar())));
      results.push(await scanner.scan(eicar()));
      for (const result of results) expect(result.engineVersion).toBe('ClamAV 9.9.9');
      expect(fake.commands.filter((command) => command === 'VERSION')).toHaveLength(1);
      await scanner.close();
    }
  });

  it("is the real clamd's version without anyone asking for signatureVersion()", async () => {
    const scanner = new ClamAvScanner({ port: clamd().port });
    const [first] = await Promise.all([scanner.scan(eicar()), scanner.scan(eicar())]);
    expect(first?.engineVersion).toMatch(/^ClamAV \d+\.\d+\.\d+$/);
    await scanner.close();
  });
});

describe('file size limits', () => {
  it("defaults maxFileSize to clamd 1.4's own StreamMaxLength, 100 MiB", () => {
    expect(new ClamAvScanner().maxFileSize).toBe(104_857_600);
  });

  it("a file over clamd's configured StreamMaxLength is file_too_large, and the scans sharing its session still get their verdicts", async () => {
    const scanner = new ClamAvScanner({ port: clamd().port, maxSessions: 1 });
    const big = scanner.scan(FileInput.fromBytes(new Uint8Array(16 * MiB), 'big.bin'));
    const others = Array.from({ length: 8 }, (_, i) =>
      scanner.scan(i % 2 === 0 ? eicar() : FileInput.fromBytes(bytes(`note ${i}`))),
    );
    expect(await failure(big)).toMatchObject({
      kind: 'file_too_large',
      message: expect.stringContaining('StreamMaxLength'),
    });
    const outcomes = (await Promise.all(others)).map((result) => result.outcome.type);
    expect(outcomes).toEqual(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 'infected' : 'clean')),
    );
    await scanner.close();
  });
});

describe('clamd hanging up mid-upload after its size-limit reply', () => {
  // clamd answers and closes while the file is still being sent; the write that follows fails.
  // Node closed the socket on that error with the reply unread about a third of the time.
  it('is file_too_large every time, never a connection failure', async () => {
    for (const maxSessions of [0, 1]) {
      const scanner = new ClamAvScanner({ port: clamd().port, maxSessions });
      const kinds = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const big = FileInput.fromBytes(new Uint8Array(16 * MiB), 'big.bin');
        kinds.add((await failure(scanner.scan(big))).kind);
      }
      expect([...kinds]).toEqual(['file_too_large']);
      await scanner.close();
    }
  }, 60_000);
});

async function* chunksOf(count: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield new Uint8Array(size).fill(0x61);
}
