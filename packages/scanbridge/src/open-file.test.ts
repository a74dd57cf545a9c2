import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ManualClock } from '@breakwater/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { entries, failure, tempDirs } from '../test/helpers.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MockScanner } from './mock-scanner.js';
import { IN_MEMORY_BYTES, prepareInput } from './prepare.js';

/**
 * Hooks into node:fs/promises, so a test can act at the exact moment between checking a path
 * and reading it (the race a real attacker has to win by luck), or make an open hang.
 */
const hooks = vi.hoisted(() => ({
  /** Runs right after the input's path was checked by path (stat), before it is opened. */
  afterStat: undefined as ((path: string) => Promise<void>) | undefined,
  /** Runs right after the opened handle was checked (fstat), before it is read. */
  afterFstat: undefined as ((path: string) => Promise<void>) | undefined,
  /** Opens of this path never finish, like an open stuck on a hung mount. */
  stalledPath: undefined as string | undefined,
  /** Opens wait for this first (an open that finishes late). */
  openGate: undefined as Promise<void> | undefined,
  /** Closing a handle of this path fails (after really closing it). */
  closeFails: undefined as string | undefined,
  opens: [] as string[],
  closes: [] as string[],
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const once = async (which: 'afterStat' | 'afterFstat', path: unknown): Promise<void> => {
    const hook = hooks[which];
    hooks[which] = undefined;
    await hook?.(String(path));
  };
  return {
    ...real,
    async stat(...args: Parameters<typeof real.stat>) {
      const info = await real.stat(...args);
      await once('afterStat', args[0]);
      return info;
    },
    async open(...args: Parameters<typeof real.open>) {
      const path = String(args[0]);
      hooks.opens.push(path);
      if (path === hooks.stalledPath) return new Promise(() => {});
      await hooks.openGate;
      const handle = await real.open(...args);
      const fstat = handle.stat.bind(handle);
      handle.stat = (async (...options: Parameters<typeof handle.stat>) => {
        const info = await fstat(...options);
        await once('afterFstat', path);
        return info;
      }) as typeof handle.stat;
      const close = handle.close.bind(handle);
      handle.close = async () => {
        await close();
        hooks.closes.push(path);
        if (hooks.closeFails === path) throw new Error('EIO: i/o error, close');
      };
      return handle;
    },
  };
});

const tempDir = tempDirs();
const fifos: string[] = [];

afterEach(() => {
  hooks.afterStat = undefined;
  hooks.afterFstat = undefined;
  hooks.stalledPath = undefined;
  hooks.openGate = undefined;
  hooks.closeFails = undefined;
  hooks.opens.length = 0;
  hooks.closes.length = 0;
  // A reader stuck opening a FIFO (the bug this file guards against) is let go, not leaked.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader was waiting on it.
    }
  }
});

/** Waits (a turn of the event loop at a time) until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

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
    hooks.afterFstat = async (checked) => {
      if (checked === path) await rename(pipe, path);
    };
    const content = await within(1_000, FileInput.fromPath(path).readAll());
    expect(new TextDecoder().decode(content)).toBe('the checked content');
    expect(hooks.afterFstat).toBeUndefined();
    // The swap happened: the path is a FIFO now, and is refused as one, before it is opened.
    const error = await within(1_000, failure(FileInput.fromPath(path).readAll()));
    expect(error.message).toContain('is not a regular file (a FIFO)');
    expect(hooks.opens).toEqual([path]);
  });

  it('refuses a path swapped for a FIFO between its check by path and its open, at once', async () => {
    const dir = await tempDir();
    const path = join(dir, 'upload.txt');
    await writeFile(path, 'the checked content');
    const pipe = await fifo(dir, 'pipe');
    hooks.afterStat = async (checked) => {
      if (checked === path) await rename(pipe, path);
    };
    const error = await within(1_000, failure(FileInput.fromPath(path).readAll()));
    expect(error.message).toBe(`${path} is not a regular file (a FIFO); only files can be scanned`);
    expect(hooks.closes.filter((closed) => closed === path)).toEqual([path]);
  });

  it('never opens a device: it is refused from its check by path', async () => {
    const error = await failure(FileInput.fromPath('/dev/null').readAll());
    expect(error.message).toBe(
      '/dev/null is not a regular file (a character device); only files can be scanned',
    );
    expect(hooks.opens).toEqual([]);
  });

  it('says in words why a file cannot be opened, with the code to search for', async () => {
    const dir = await tempDir();
    const loop = join(dir, 'loop');
    await symlink(join(dir, 'back'), loop);
    await symlink(loop, join(dir, 'back'));
    const error = await failure(FileInput.fromPath(loop).readAll());
    expect(error.kind).toBe('io');
    expect(error.message).toBe(`cannot read ${loop}: too many levels of symbolic links (ELOOP)`);
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

  it('closes a file whose opening finished only after the scan timed out', async () => {
    const dir = await tempDir();
    const path = join(dir, 'late.txt');
    await writeFile(path, 'opened late');
    let open = (): void => {};
    hooks.openGate = new Promise((resolve) => {
      open = resolve;
    });
    const clock = new ManualClock(0);
    const manager = ScanManager.builder()
      .addScanner(MockScanner.clean().withName('a'))
      .withConfig({ scanTimeoutMs: 100, clock })
      .build();
    const scan = manager.scan(FileInput.fromPath(path));
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(100);
    expect((await within(1_000, failure(scan))).kind).toBe('timeout');
    open();
    await within(
      1_000,
      until(() => hooks.closes.includes(path)),
    );
    // Earlier tests' handles may close late too (a close is never waited for): only ours counts.
    expect(hooks.closes.filter((closed) => closed === path)).toEqual([path]);
  });

  it('keeps the report when closing the file afterwards fails', async () => {
    const dir = await tempDir();
    const path = join(dir, 'large.bin');
    await writeFile(path, new Uint8Array(IN_MEMORY_BYTES + 1).fill(0x61));
    hooks.closeFails = path;
    const manager = ScanManager.builder().addScanner(MockScanner.clean().withName('a')).build();
    const report = await manager.scan(FileInput.fromPath(path));
    expect(report.aggregatedOutcome).toEqual({ type: 'clean' });
    await within(
      1_000,
      until(() => hooks.closes.includes(path)),
    );
    // Earlier tests' handles may close late too (a close is never waited for): only ours counts.
    expect(hooks.closes.filter((closed) => closed === path)).toEqual([path]);
  });

  it('spools a stat-size-0 file and removes the copy afterwards, even when closing the file fails', async () => {
    const spoolDir = await tempDir();
    const path = '/proc/self/status';
    hooks.closeFails = path;
    const prepared = await prepareInput(FileInput.fromPath(path), {
      maxBytes: 1024 * 1024,
      hashes: [],
      signal: undefined,
      spoolDir,
      inMemoryBytes: 100,
    });
    expect(await entries(spoolDir)).toHaveLength(1);
    expect(prepared.forEngine().input.path).toBe(path);
    await prepared.close();
    expect(await entries(spoolDir)).toEqual([]);
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
