import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ManualClock } from '@breakwater/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { failure, tempDirs } from '../test/helpers.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MockScanner } from './mock-scanner.js';

/**
 * Hooks into node:fs/promises, so a test can act at the exact moment between checking a path
 * and reading it (the race a real attacker has to win by luck), or make an open hang.
 */
const hooks = vi.hoisted(() => ({
  /** Runs right after the input's path was checked (a stat by path, or an fstat of its handle). */
  afterCheck: undefined as ((path: string) => Promise<void>) | undefined,
  /** Opens of this path never finish, like an open stuck on a hung mount. */
  stalledPath: undefined as string | undefined,
  opens: [] as string[],
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const afterCheck = async (path: unknown): Promise<void> => {
    const hook = hooks.afterCheck;
    hooks.afterCheck = undefined;
    await hook?.(String(path));
  };
  return {
    ...real,
    async stat(...args: Parameters<typeof real.stat>) {
      const info = await real.stat(...args);
      await afterCheck(args[0]);
      return info;
    },
    async open(...args: Parameters<typeof real.open>) {
      hooks.opens.push(String(args[0]));
      if (String(args[0]) === hooks.stalledPath) return new Promise(() => {});
      const handle = await real.open(...args);
      const fstat = handle.stat.bind(handle);
      handle.stat = (async (...options: Parameters<typeof handle.stat>) => {
        const info = await fstat(...options);
        await afterCheck(args[0]);
        return info;
      }) as typeof handle.stat;
      return handle;
    },
  };
});

const tempDir = tempDirs();
const fifos: string[] = [];

afterEach(() => {
  hooks.afterCheck = undefined;
  hooks.stalledPath = undefined;
  hooks.opens.length = 0;
  // A reader stuck opening a FIFO (the bug this file guards against) is let go, not leaked.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader was waiting on it.
    }
  }
});

async function fifo(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  fifos.push(path);
  return path;
}

/** `work`, or a failure once a fault bound passed: a hang must fail the test, not stall it. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([work, bound]).finally(() => clearTimeout(timer));
}

describe('opening a path input', () => {
  it('refuses a FIFO at once, with a clear error, however many are asked for', async () => {
    const dir = await tempDir();
    // More than libuv's four threads: stuck opens would stall every file operation after them.
    const paths = await Promise.all(Array.from({ length: 6 }, (_, i) => fifo(dir, `pipe-${i}`)));
    const errors = await within(
      1_000,
      Promise.all(paths.map((path) => failure(FileInput.fromPath(path).readAll()))),
    );
    for (const [i, error] of errors.entries()) {
      expect(error.kind).toBe('io');
      expect(error.message).toBe(
        `${paths[i]} is not a regular file (a FIFO); only files can be scanned`,
      );
    }
    const file = join(dir, 'after.txt');
    await writeFile(file, 'the file system still answers');
    expect(await within(1_000, readFile(file, 'utf8'))).toBe('the file system still answers');
  });

  it('reads the file it checked, even when the path is swapped for a FIFO right after the check', async () => {
    const dir = await tempDir();
    const path = join(dir, 'upload.txt');
    await writeFile(path, 'the checked content');
    const pipe = await fifo(dir, 'pipe');
    hooks.afterCheck = async (checked) => {
      if (checked === path) await rename(pipe, path);
    };
    const content = await within(1_000, FileInput.fromPath(path).readAll());
    expect(new TextDecoder().decode(content)).toBe('the checked content');
    expect(hooks.afterCheck).toBeUndefined();
    // The swap happened: the path is a FIFO now, and is refused as one.
    const error = await within(1_000, failure(FileInput.fromPath(path).readAll()));
    expect(error.message).toContain('is not a regular file (a FIFO)');
  });

  it('refuses a unix socket and a character device', async () => {
    const dir = await tempDir();
    const path = join(dir, 'engine.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const socket = await failure(FileInput.fromPath(path).readAll());
      expect(socket.message).toBe(
        `${path} is not a regular file (a socket); only files can be scanned`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const device = await failure(FileInput.fromPath('/dev/zero').readAll());
    expect(device.message).toBe(
      '/dev/zero is not a regular file (a character device); only files can be scanned',
    );
  });
});

describe('ScanManager preparing a path input', () => {
  it('opens the file once, and its engines read what it checked', async () => {
    const dir = await tempDir();
    const path = join(dir, 'upload.txt');
    await writeFile(path, 'checked once');
    const a = MockScanner.clean().withName('a');
    const b = MockScanner.clean().withName('b');
    const manager = ScanManager.builder().addScanner(a).addScanner(b).build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(hooks.opens).toEqual([path]);
    expect(report.results.map((r) => r.fileMetadata.size)).toEqual([12, 12]);
    expect(report.fileMetadata).toMatchObject({ filename: 'upload.txt', size: 12 });
  });

  it('ends with a timeout when reading the file stalls, within the scan time limit', async () => {
    const dir = await tempDir();
    const path = join(dir, 'on-a-hung-mount.txt');
    await writeFile(path, 'never read');
    hooks.stalledPath = path;
    const clock = new ManualClock(0);
    const engine = MockScanner.clean().withName('a');
    const manager = ScanManager.builder()
      .addScanner(engine)
      .withConfig({ scanTimeoutMs: 100, clock })
      .build();
    const scan = manager.scan(FileInput.fromPath(path));
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(100);
    const error = await within(1_000, failure(scan));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(
      `Reading ${path} before scanning timed out after 100 ms (the scan's time limit, scanTimeoutMs)`,
    );
    expect(engine.scanCount).toBe(0);
  });

  it('ends with cancelled as soon as the caller cancels, while reading the file stalls', async () => {
    const dir = await tempDir();
    const path = join(dir, 'on-a-hung-mount.txt');
    await writeFile(path, 'never read');
    hooks.stalledPath = path;
    const engine = MockScanner.clean().withName('a');
    const manager = ScanManager.builder()
      .addScanner(engine)
      .withConfig({ scanTimeoutMs: 60_000, clock: new ManualClock(0) })
      .build();
    const caller = new AbortController();
    const scan = manager.scan(FileInput.fromPath(path), {}, caller);
    await new Promise((resolve) => setImmediate(resolve));
    caller.abort(new Error('user cancelled'));
    const error = await within(1_000, failure(scan));
    expect(error.kind).toBe('cancelled');
    expect(engine.scanCount).toBe(0);
  });
});
