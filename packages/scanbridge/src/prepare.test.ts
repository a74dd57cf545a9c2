import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { countingStream, entries, failure, fakeResult, tempDirs } from '../test/helpers.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MeteredRead, readMetadata } from './metadata.js';
import { MockScanner } from './mock-scanner.js';
import { IN_MEMORY_BYTES, MemoryBudget, type Prepared, prepareInput } from './prepare.js';
import { type Scanner, scanResult } from './scanner.js';

const tempDir = tempDirs();
const options = { maxBytes: 64 * 1024 * 1024, hashes: [], signal: undefined, spoolDir: '/tmp' };
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function largeFile(fill: number): Promise<{ path: string; content: Uint8Array }> {
  const dir = await tempDir();
  const path = join(dir, 'large.bin');
  const content = new Uint8Array(IN_MEMORY_BYTES + 12_345).fill(fill);
  await writeFile(path, content);
  return { path, content };
}

/** A scanner that reads the whole input with plain chunks() and reports what `claim` says. */
function unmetered(name: string, claim: (read: Uint8Array) => string): Scanner {
  return {
    name,
    healthCheck: async () => {},
    async scan(input) {
      const read = await input.readAll();
      return fakeResult(name, { size: read.byteLength, sha256: claim(read) });
    },
  };
}

describe('prepareInput', () => {
  it('reads a small file once into memory: engines read that copy without hashing it again', async () => {
    const dir = await tempDir();
    const path = join(dir, 'small.txt');
    await writeFile(path, 'small and read once');
    const prepared = await prepareInput(FileInput.fromPath(path), options);
    const { input } = prepared.forEngine();
    expect(input.path).toBe(path);
    await writeFile(path, 'changed on disk later');
    const read = new MeteredRead(input);
    const chunks: Uint8Array[] = [];
    for await (const chunk of read.chunks()) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('small and read once');
    // The very metadata computed while preparing: nothing was hashed twice.
    expect(read.metadata()).toBe(input.knownMetadata);
    // A reader asking for a digest the copy lacks gets it computed.
    const md5 = new MeteredRead(input, { hashes: ['md5'] });
    for await (const _ of md5.chunks()) {
      // Only the digest is wanted.
    }
    expect(md5.metadata().hash.md5).toBe(
      createHash('md5').update('small and read once').digest('hex'),
    );
    await prepared.close();
  });

  it('leaves a large file on disk, read from the handle opened once, by every engine', async () => {
    const { path, content } = await largeFile(0x61);
    const prepared = await prepareInput(FileInput.fromPath(path), options);
    const first = prepared.forEngine();
    const second = prepared.forEngine();
    const [a, b] = await Promise.all([first.input.readAll(), second.input.readAll()]);
    expect(sha256(a)).toBe(sha256(content));
    expect(sha256(b)).toBe(sha256(content));
    // Neither read was metered, and each view measured its own.
    expect(first.metadata()?.hash.sha256).toBe(sha256(content));
    expect(second.metadata()?.hash.sha256).toBe(sha256(content));
    await prepared.close();
  });

  it('reads a file whose stat size is 0 into memory while it fits, else into a spooled copy', async () => {
    const spoolDir = await tempDir();
    const status = FileInput.fromPath('/proc/self/status');
    const small = await prepareInput(status, { ...options, spoolDir });
    expect(small.input.path).toBe('/proc/self/status');
    expect(small.input.knownMetadata?.size).toBeGreaterThan(100);
    await small.close();

    const spooled = await prepareInput(status, { ...options, spoolDir, inMemoryBytes: 100 });
    // Read from the copy, but still the file it is, for engines and in messages.
    expect(spooled.input.path).toBe('/proc/self/status');
    expect(spooled.input.kind).toBe('path');
    expect(spooled.input.filename).toBe('status');
    expect(await entries(spoolDir)).toHaveLength(1);
    const content = new TextDecoder().decode(await spooled.forEngine().input.readAll());
    expect(content).toMatch(/^Name:/);
    expect(spooled.forEngine().metadata()?.size).toBe(content.length);
    const limited = await failure(spooled.forEngine().input.readAll({ maxBytes: 10 }));
    expect(limited.message).toBe(
      `/proc/self/status is too large: the limit is 10 bytes and it has ${content.length} bytes`,
    );
    await spooled.close();
    expect(await entries(spoolDir)).toEqual([]);

    const limit = { ...options, spoolDir, inMemoryBytes: 100, maxBytes: 200 };
    const error = await failure(prepareInput(status, limit));
    expect(error.kind).toBe('file_too_large');
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('refuses a file over the limit from its size, before anything reads it', async () => {
    const { path } = await largeFile(0x61);
    const error = await failure(
      prepareInput(FileInput.fromPath(path), { ...options, maxBytes: IN_MEMORY_BYTES }),
    );
    expect(error.kind).toBe('file_too_large');
    expect(error.message).toBe(
      `${path} is too large: the limit is ${IN_MEMORY_BYTES} bytes and it has ${IN_MEMORY_BYTES + 12_345} bytes`,
    );
  });
});

/** A stream of `content` in chunks of `chunkBytes` (an uploader chooses where chunks split). */
function streamOf(content: Uint8Array, chunkBytes: number, filename = 'upload.bin'): FileInput {
  return FileInput.fromStream(
    (async function* () {
      for (let offset = 0; offset < content.byteLength; offset += chunkBytes)
        yield content.slice(offset, offset + chunkBytes);
    })(),
    { filename },
  );
}

function patterned(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 7) % 251);
}

describe('prepareInput with a stream', () => {
  it('holds a stream of exactly 1 MiB in memory: no copy on disk, every engine and the quarantine read it', async () => {
    const spoolDir = await tempDir();
    const content = patterned(IN_MEMORY_BYTES);
    const prepared = await prepareInput(streamOf(content, 64 * 1024), { ...options, spoolDir });
    try {
      expect(await entries(spoolDir)).toEqual([]);
      const { input, metadata } = prepared.forEngine();
      expect(input.path).toBeUndefined();
      expect(input.filename).toBe('upload.bin');
      expect(metadata()).toEqual({
        filename: 'upload.bin',
        size: content.byteLength,
        hash: { sha256: sha256(content) },
      });
      // Hashed once, while it arrived: readers are handed that metadata.
      expect(input.knownMetadata).toBe(metadata());
      const [a, b, kept] = await Promise.all([
        input.readAll(),
        prepared.forEngine().input.readAll(),
        prepared.input.readAll(),
      ]);
      for (const read of [a, b, kept]) expect(sha256(read)).toBe(sha256(content));
    } finally {
      await prepared.close();
    }
  });

  it('spools a stream of 1 MiB + 1 byte: the bytes held so far first, then the rest, read by every engine', async () => {
    const spoolDir = await tempDir();
    const content = patterned(IN_MEMORY_BYTES + 1);
    // Chunks that do not divide 1 MiB: the switch to disk comes in the middle of one.
    const prepared = await prepareInput(streamOf(content, 100_003), {
      ...options,
      spoolDir,
      hashes: ['md5'],
    });
    try {
      const spooled = await entries(spoolDir);
      expect(spooled).toHaveLength(1);
      const { input, metadata } = prepared.forEngine();
      expect(input.path).toBe(join(spoolDir, spooled[0] as string, 'input'));
      expect(input.filename).toBe('upload.bin');
      expect(metadata()).toEqual({
        filename: 'upload.bin',
        size: content.byteLength,
        hash: { sha256: sha256(content), md5: createHash('md5').update(content).digest('hex') },
      });
      const [a, b, kept] = await Promise.all([
        input.readAll(),
        prepared.forEngine().input.readAll(),
        prepared.input.readAll(),
      ]);
      for (const read of [a, b, kept]) expect(sha256(read)).toBe(sha256(content));
    } finally {
      await prepared.close();
    }
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('leaves no copy behind when a stream fails after it went to disk', async () => {
    const spoolDir = await tempDir();
    let pulled = 0;
    const breaking = FileInput.fromStream(
      (async function* () {
        for (; pulled < 3; pulled++) yield new Uint8Array(IN_MEMORY_BYTES / 2).fill(1);
        throw new Error('ECONNRESET from the uploader');
      })(),
      { filename: 'upload.bin' },
    );
    const error = await failure(prepareInput(breaking, { ...options, spoolDir }));
    expect(pulled).toBe(3);
    expect(error.kind).toBe('io');
    expect(error.message).toMatch(
      /^Reading upload\.bin \(stream\) failed after 1572864 bytes: ECONNRESET/,
    );
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('stops a stream as soon as it passes maxBytes, on disk or not, and leaves nothing', async () => {
    const spoolDir = await tempDir();
    for (const maxBytes of [1000, IN_MEMORY_BYTES + 100_000]) {
      const source = countingStream(1000, 10_000);
      const error = await failure(
        prepareInput(FileInput.fromStream(source.stream), { ...options, spoolDir, maxBytes }),
      );
      expect(error.kind).toBe('file_too_large');
      expect(source.pulled()).toBe(Math.floor(maxBytes / 10_000) + 1);
      expect(await entries(spoolDir)).toEqual([]);
    }
  });

  it("stops at its signal after it went to disk, with the signal's reason, and leaves nothing", async () => {
    const spoolDir = await tempDir();
    const controller = new AbortController();
    const reason = new Error('the client went away');
    const stalled = FileInput.fromStream(
      (async function* () {
        yield new Uint8Array(IN_MEMORY_BYTES + 1).fill(2);
        controller.abort(reason);
        await new Promise(() => {
          // A sender that never sends again.
        });
      })(),
    );
    const preparing = prepareInput(stalled, { ...options, spoolDir, signal: controller.signal });
    await expect(preparing).rejects.toBe(reason);
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('needs the spool directory only for a stream past 1 MiB', async () => {
    const spoolDir = '/nonexistent/spool';
    const small = await prepareInput(streamOf(patterned(1000), 1000), { ...options, spoolDir });
    expect(small.forEngine().metadata()?.size).toBe(1000);
    await small.close();
    const error = await failure(
      prepareInput(streamOf(patterned(IN_MEMORY_BYTES + 1), 64 * 1024), { ...options, spoolDir }),
    );
    expect(error.kind).toBe('configuration');
    expect(error.message).toMatch(
      /^Cannot create a spool directory in \/nonexistent\/spool \(option "spoolDir"\): /,
    );
  });
});

describe('ScanManager with a large file', () => {
  it('reports the metadata of what its engines read, hashed once per engine', async () => {
    const { path, content } = await largeFile(0x62);
    const manager = ScanManager.builder()
      .addScanner(MockScanner.clean().withName('a'))
      .addScanner(MockScanner.clean().withName('b'))
      .build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.failures).toEqual([]);
    expect(report.fileMetadata).toEqual({
      filename: 'large.bin',
      size: content.byteLength,
      hash: { sha256: sha256(content) },
    });
  });

  it('counts no verdict on other bytes: a file that changed between two engines reads', async () => {
    const { path, content } = await largeFile(0x63);
    const inner = MockScanner.clean().withName('first');
    const changer: Scanner = {
      name: 'first',
      healthCheck: async () => {},
      async scan(input, scanOptions = {}) {
        const result = await inner.scan(input, scanOptions);
        await writeFile(path, new Uint8Array(content.byteLength).fill(0x64));
        return result;
      },
    };
    const manager = ScanManager.builder()
      .addScanner(changer)
      .addScanner(MockScanner.clean().withName('second'))
      .withConfig({ maxParallel: 1 })
      .build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.fileHash.sha256).toBe(sha256(content));
    expect(report.results.map((r) => r.engine)).toEqual(['first']);
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['second', 'ambiguous_response'],
    ]);
    expect(report.failures[0]?.error.message).toMatch(
      /^second: unusable result: it read other content than first did .*; the file changed during the scan$/,
    );
    expect(report.aggregatedOutcome).toEqual({ type: 'error', recoverable: true });
  });

  it('hashes the file itself for an engine that read it without metering, and holds it to that', async () => {
    const { path, content } = await largeFile(0x65);
    const manager = ScanManager.builder()
      .addScanner(unmetered('honest', sha256))
      .addScanner(unmetered('liar', () => 'f'.repeat(64)))
      .build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.fileHash.sha256).toBe(sha256(content));
    expect(report.results.map((r) => r.engine)).toEqual(['honest']);
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['liar', 'ambiguous_response'],
    ]);
  });

  it('reports every configured digest, whatever digests the engine asked its own read for', async () => {
    const { path, content } = await largeFile(0x66);
    const simple: Scanner = {
      name: 'simple',
      healthCheck: async () => {},
      async scan(input, scanOptions = {}) {
        const read = new MeteredRead(input, { signal: scanOptions.signal });
        for await (const _ of read.chunks()) {
          // Only the digest is wanted.
        }
        return scanResult({
          outcome: { type: 'clean' },
          fileMetadata: read.metadata(),
          engine: 'simple',
          startedAt: 0,
          completedAt: 0,
          context: scanOptions.context,
        });
      },
    };
    const manager = ScanManager.builder()
      .addScanner(simple)
      .withConfig({ hashes: ['md5', 'blake3'] })
      .build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.fileHash).toEqual({
      sha256: sha256(content),
      md5: createHash('md5').update(content).digest('hex'),
      blake3: bytesToHex(blake3(content)),
    });
  });

  it('holds an engine that read the file twice (a connection lost mid-way) to its last read', async () => {
    const { path, content } = await largeFile(0x67);
    const changed = new Uint8Array(content.byteLength).fill(0x68);
    const resending: Scanner = {
      name: 'resending',
      healthCheck: async () => {},
      async scan(input, scanOptions = {}) {
        await readMetadata(input, scanOptions);
        await writeFile(path, changed);
        const again = await readMetadata(input, scanOptions);
        return scanResult({
          outcome: { type: 'clean' },
          fileMetadata: again,
          engine: 'resending',
          startedAt: 0,
          completedAt: 0,
          context: scanOptions.context,
        });
      },
    };
    const manager = ScanManager.builder().addScanner(resending).build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.failures).toEqual([]);
    expect(report.fileHash.sha256).toBe(sha256(changed));
  });

  it('reads the file itself, within the time limit, for an engine that did not read it', async () => {
    const { path, content } = await largeFile(0x69);
    const byPath = unmetered('by-path', () => sha256(content));
    const manager = ScanManager.builder()
      .addScanner({ ...byPath, scan: () => byPath.scan(FileInput.fromBytes(content)) })
      .build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.results.map((r) => r.engine)).toEqual(['by-path']);
    expect(report.fileMetadata).toEqual({
      filename: 'large.bin',
      size: content.byteLength,
      hash: { sha256: sha256(content) },
    });
  });
});

/** A full collection, from a context of its own so the flag needs no command line. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** What the heap and the buffers' backing stores hold now. */
function retainedBytes(): number {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe('prepareInput within a memory budget', () => {
  const MiB = 1024 * 1024;

  it('holds streams in memory only while the budget lasts: the one that would pass it is spooled, and the budget returns on close', async () => {
    const spoolDir = await tempDir();
    const memoryBudget = new MemoryBudget(2 * MiB);
    const contents = [0, 1, 2].map((n) => patterned(MiB - 1).map((b) => b ^ n));
    // Interleaved, as concurrent uploads arrive: every stream holds a part when the budget runs out.
    const prepared: Prepared[] = await Promise.all(
      contents.map((content, n) =>
        prepareInput(streamOf(content, 64 * 1024, `upload-${n}.bin`), {
          ...options,
          spoolDir,
          memoryBudget,
        }),
      ),
    );
    try {
      expect(await entries(spoolDir)).toHaveLength(1);
      const inMemory = prepared.filter((p) => p.input.path === undefined);
      expect(inMemory).toHaveLength(2);
      // Each holds its MiB - 1 bytes in a buffer of 1 MiB: the budget is charged that capacity.
      expect(memoryBudget.held).toBe(2 * MiB);
      for (const [n, p] of prepared.entries()) {
        const expected = sha256(contents[n] as Uint8Array);
        const { input, metadata } = p.forEngine();
        expect(input.filename).toBe(`upload-${n}.bin`);
        expect(metadata()?.hash.sha256).toBe(expected);
        expect(sha256(await input.readAll())).toBe(expected);
      }
    } finally {
      await Promise.all(prepared.map((p) => p.close()));
    }
    expect(memoryBudget.held).toBe(0);
    expect(await entries(spoolDir)).toEqual([]);
    const again = await prepareInput(streamOf(patterned(MiB - 1), 64 * 1024), {
      ...options,
      spoolDir,
      memoryBudget,
    });
    expect(again.input.path).toBeUndefined();
    expect(memoryBudget.held).toBe(MiB);
    await again.close();
    await again.close();
    expect(memoryBudget.held).toBe(0);
  });

  it('spools every stream with a budget of 0, and reads a file on disk from its handle', async () => {
    const spoolDir = await tempDir();
    const memoryBudget = new MemoryBudget(0);
    const stream = await prepareInput(streamOf(patterned(10), 4), {
      ...options,
      spoolDir,
      memoryBudget,
    });
    const path = join(await tempDir(), 'small.txt');
    await writeFile(path, 'small, on disk');
    const file = await prepareInput(FileInput.fromPath(path), {
      ...options,
      spoolDir,
      memoryBudget,
    });
    try {
      expect(await entries(spoolDir)).toHaveLength(1);
      expect(sha256(await stream.forEngine().input.readAll())).toBe(sha256(patterned(10)));
      // Not copied into the spool: engines read the file itself.
      expect(file.forEngine().input.path).toBe(path);
      expect(Buffer.from(await file.forEngine().input.readAll()).toString()).toBe('small, on disk');
      expect(memoryBudget.held).toBe(0);
    } finally {
      await Promise.all([stream.close(), file.close()]);
    }
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('holds a stream sent in tiny chunks as the bytes it sent, not as an object per chunk', async () => {
    const memoryBudget = new MemoryBudget(64 * MiB);
    const content = patterned(MiB - 1);
    let allSent!: () => void;
    const sent = new Promise<void>((resolve) => {
      allSent = resolve;
    });
    let resume!: () => void;
    const stalled = new Promise<void>((resolve) => {
      resume = resolve;
    });
    // A client dripping 16-byte reads that stalls 1 byte short of 1 MiB: it stays in memory.
    const dripping = FileInput.fromStream(
      (async function* () {
        for (let offset = 0; offset < content.byteLength; offset += 16)
          yield content.slice(offset, offset + 16);
        // Reached only once every chunk before was taken by the preparation.
        allSent();
        await stalled;
      })(),
      { filename: 'drip.bin' },
    );
    collectGarbage();
    const before = retainedBytes();
    const preparing = prepareInput(dripping, {
      ...options,
      spoolDir: await tempDir(),
      memoryBudget,
    });
    await sent;
    collectGarbage();
    const growth = retainedBytes() - before;
    resume();
    const prepared = await preparing;
    try {
      // Held as one buffer in 1 MiB of capacity, which is what the budget is charged; kept as a
      // Buffer per chunk it was about 14 MiB.
      expect(growth).toBeLessThan(3 * MiB);
      expect(memoryBudget.held).toBe(MiB);
      expect(prepared.input.path).toBeUndefined();
      const read = await prepared.forEngine().input.readAll();
      expect(Buffer.from(read).equals(Buffer.from(content))).toBe(true);
      expect(prepared.forEngine().metadata()?.hash.sha256).toBe(sha256(content));
    } finally {
      await prepared.close();
    }
    expect(memoryBudget.held).toBe(0);
  });

  it('charges a small file on disk its size: one that fits the budget exactly is held in memory', async () => {
    const spoolDir = await tempDir();
    const path = join(await tempDir(), 'exact.bin');
    const content = patterned(100_000);
    await writeFile(path, content);
    // Read in 64 KiB chunks: a buffer doubling from the first would need 128 KiB of budget.
    const memoryBudget = new MemoryBudget(content.byteLength);
    const prepared = await prepareInput(FileInput.fromPath(path), {
      ...options,
      spoolDir,
      memoryBudget,
    });
    try {
      expect(await entries(spoolDir)).toEqual([]);
      expect(memoryBudget.held).toBe(content.byteLength);
      await writeFile(path, 'changed on disk later');
      const read = await prepared.forEngine().input.readAll();
      expect(Buffer.from(read).equals(Buffer.from(content))).toBe(true);
    } finally {
      await prepared.close();
    }
    expect(memoryBudget.held).toBe(0);
  });

  it('gives the budget back when a stream held in memory fails', async () => {
    const memoryBudget = new MemoryBudget(MiB);
    const broken = FileInput.fromStream(
      (async function* () {
        yield new Uint8Array(1000).fill(1);
        throw new Error('connection reset');
      })(),
      { filename: 'broken.bin' },
    );
    await expect(
      prepareInput(broken, { ...options, spoolDir: await tempDir(), memoryBudget }),
    ).rejects.toThrow();
    expect(memoryBudget.held).toBe(0);
  });

  it('keeps a small stream in memory by default: no spool file', async () => {
    const spoolDir = await tempDir();
    const prepared = await prepareInput(streamOf(patterned(10_000), 1000), {
      ...options,
      spoolDir,
    });
    try {
      expect(prepared.input.path).toBeUndefined();
      expect(await entries(spoolDir)).toEqual([]);
    } finally {
      await prepared.close();
    }
  });
});
