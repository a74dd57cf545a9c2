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
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const stat = async (...args: Parameters<typeof actual.stat>) => {
    const info = await actual.stat(...args);
    await between.stat?.(String(args[0]));
    return info;
  };
  return { ...actual, stat };
});

const dirs: string[] = [];
afterEach(async () => {
  between.stat = undefined;
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
    between.stat = async (path) => {
      if (path === file) await rename(join(aside, 'fifo'), file);
    };
    const found = await findFiles([Buffer.from(dir)]);
    expect(found).toEqual([{ path: Buffer.from(file), shown: file, skipped: 'special file' }]);
  });
});
