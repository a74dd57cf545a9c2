import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, open, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failure, fakeResult, tempDirs } from '../test/helpers.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MeteredRead } from './metadata.js';
import { IN_MEMORY_BYTES } from './prepare.js';
import type { Scanner } from './scanner.js';

const tempDir = tempDirs();
const releases: (() => void)[] = [];
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

afterEach(() => {
  for (const release of releases.splice(0)) release();
});

/**
 * A disk that stops answering (a hung NFS mount), for real: every libuv worker thread is held
 * in a blocking open of a FIFO, so every file operation after it queues until the test ends.
 */
function stallTheDisk(dir: string): void {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: threads }, (_, i) => join(dir, `stall-${i}`));
  for (const fifo of fifos) {
    execFileSync('mkfifo', [fifo]);
    open(fifo, 'r', (error, fd) => {
      if (error === null) closeSync(fd);
    });
  }
  releases.push(() => {
    for (const fifo of fifos) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  });
}

/** `work`, or a failure once a fault bound passed: a hang must fail the test, not stall it. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([work, bound]).finally(() => clearTimeout(timer));
}

/** A file the manager leaves on disk for its engines to read from its handle. */
async function largeFile(): Promise<{ dir: string; path: string; content: Uint8Array }> {
  const dir = await tempDir();
  const path = join(dir, 'large.bin');
  const content = new Uint8Array(IN_MEMORY_BYTES + 4096).fill(0x61);
  await writeFile(path, content);
  return { dir, path, content };
}

describe('ScanManager on a disk that stops answering', () => {
  it('ends the scan at its time limit, without waiting for the stuck read to let go of the file', async () => {
    const { dir, path } = await largeFile();
    const stuck: Scanner = {
      name: 'stuck',
      healthCheck: async () => {},
      async scan(input, options) {
        stallTheDisk(dir);
        const read = new MeteredRead(input, options);
        for await (const _ of read.chunks()) {
          // Never gets a chunk: the disk is stuck.
        }
        throw new Error('the read cannot have finished');
      },
    };
    const manager = ScanManager.builder()
      .addScanner(stuck)
      .withConfig({ scanTimeoutMs: 30 })
      .build();
    const error = await within(1_000, failure(manager.scan(FileInput.fromPath(path))));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('stuck: scan timed out after 30 ms');
  });

  it('needs no second read of the file for an engine that read it without metering', async () => {
    const { dir, path, content } = await largeFile();
    const buffering: Scanner = {
      name: 'buffering',
      healthCheck: async () => {},
      async scan(input, options) {
        const read = await input.readAll(options);
        stallTheDisk(dir);
        return fakeResult('buffering', { size: read.byteLength, sha256: sha256(read) });
      },
    };
    const manager = ScanManager.builder()
      .addScanner(buffering)
      .withConfig({ scanTimeoutMs: 30, hashes: ['md5'] })
      .build();
    const report = await within(1_000, manager.scan(FileInput.fromPath(path)));
    expect(report.aggregatedOutcome).toEqual({ type: 'clean' });
    expect(report.fileHash).toEqual({
      sha256: sha256(content),
      md5: createHash('md5').update(content).digest('hex'),
    });
  });
});
