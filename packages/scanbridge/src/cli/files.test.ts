import { execFile } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findFiles } from './files.js';

// The moment between findFiles' stat of a file and its next look, where a file can be swapped.
const between = vi.hoisted(() => ({
  stat: undefined as ((path: string) => Promise<void>) | undefined,
  /** A handle to give in place of opening `path`, or undefined to open it. */
  open: undefined as ((path: string) => unknown) | undefined,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const stat = async (...args: Parameters<typeof actual.stat>) => {
    const info = await actual.stat(...args);
    await between.stat?.(String(args[0]));
    return info;
  };
  const open = async (...args: Parameters<typeof actual.open>) =>
    between.open?.(String(args[0])) ?? actual.open(...args);
  return { ...actual, stat, open };
});

const dirs: string[] = [];
afterEach(async () => {
  between.stat = undefined;
  between.open = undefined;
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('findFiles', () => {
  it('judges a size-0 file on the handle it opens: a FIFO swapped in after the stat is a special file, not empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scanbridge-files-'));
    dirs.push(dir);
    const aside = await mkdtemp(join(tmpdir(), 'scanbridge-files-'));
    dirs.push(aside);
    const file = join(dir, 'upload.txt');
    await writeFile(file, '');
    await promisify(execFile)('mkfifo', [join(aside, 'fifo')]);
    let swapped = false;
    between.stat = async (path) => {
      if (path === file && !swapped) await rename(join(aside, 'fifo'), file);
      swapped ||= path === file;
    };
    const found = await findFiles([Buffer.from(dir)], 1_000);
    expect(found).toEqual([{ path: Buffer.from(file), shown: file, skipped: 'special file' }]);
  });

  it('gives up on a size-0 file not read within the limit, and leaves it to the scan', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scanbridge-files-'));
    dirs.push(dir);
    const file = join(dir, 'upload.txt');
    await writeFile(file, '');
    // A hung mount: the read, and so Node's close, never end.
    const never = new Promise<never>(() => {});
    between.open = (path) =>
      path === file
        ? {
            stat: async () => ({ isFile: () => true, size: 0 }),
            read: () => never,
            close: () => never,
          }
        : undefined;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((resolve) => {
      timer = setTimeout(() => resolve('still looking'), 1_000);
    });
    try {
      const found = await Promise.race([findFiles([Buffer.from(dir)], 20), bound]);
      expect(found).toEqual([{ path: Buffer.from(file), shown: file }]);
    } finally {
      clearTimeout(timer);
    }
  });
});
