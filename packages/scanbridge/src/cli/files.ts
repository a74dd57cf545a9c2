import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { normalize } from 'node:path';
import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import { type OpenFile, openRegularFile } from '../open-file.js';
import { displayPath } from './display-path.js';

/**
 * Why a file found is not scanned. `unchecked` marks content that exists but was not looked
 * at (a linked directory, a special file), which a run must not call allowed; an empty file
 * or a broken link has no content to check.
 */
export const SKIPS = {
  'directory link': { reason: 'link to a directory, not followed', unchecked: true },
  'special file': { reason: 'not a regular file', unchecked: true },
  'broken link': { reason: 'broken symbolic link', unchecked: false },
  'empty file': { reason: 'empty file, nothing to scan', unchecked: false },
} as const;

export type SkipKind = keyof typeof SKIPS;

/**
 * A file to scan, or one that was found but will not be scanned, or one that could not be
 * looked at. Paths are bytes, as the file system has them: a name that is not valid UTF-8
 * has no string Node could open it by.
 */
export interface FoundFile {
  readonly path: Buffer;
  /** The path as it is shown: valid UTF-8 as itself, any other byte escaped (`\xff`). */
  readonly shown: string;
  readonly skipped?: SkipKind | undefined;
  /** What went wrong finding it, in words: the file gets an error line, and the run goes on. */
  readonly unreadable?: ScanError | undefined;
}

/** A path given on the command line that does not exist or cannot be read: the run stops before scanning anything. */
export class PathError extends Error {
  readonly code = 'SCANBRIDGE_PATH';
}

const SLASH = 0x2f;
// What stat says of a link whose target is not there; anything else (a loop, a target
// nobody may read, an I/O error) means content that exists and was not reached.
const BROKEN = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Every file under `paths`, in order, each once (by its real path): files as named,
 * directories recursively and sorted by their bytes. Links to files are followed; links to
 * directories inside a tree are not (they could loop), and are reported as unchecked. What
 * cannot be read inside a tree (a file gone since it was listed, a link that loops) is an
 * error line, and the rest is still found. `probeMs` bounds the look into a file whose size
 * says 0.
 */
export async function findFiles(paths: readonly Buffer[], probeMs: number): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const seen = new Set<string>();
  for (const given of paths) {
    // latin1 keeps every byte as one char, and "/" and "." as themselves.
    const path = Buffer.from(normalize(given.toString('latin1')), 'latin1');
    const info = await stat(path).catch((error: unknown) => {
      throw new PathError(cannotRead(path, error));
    });
    if (info.isDirectory()) await walk(path, found, seen, probeMs);
    else await add(path, found, seen, probeMs);
  }
  return found;
}

async function walk(
  dir: Buffer,
  found: FoundFile[],
  seen: Set<string>,
  probeMs: number,
): Promise<void> {
  const names = await attempt(found, dir, readdir(dir, { encoding: 'buffer' }));
  if (names === undefined) return;
  for (const name of names.sort(Buffer.compare)) {
    const path = child(dir, name);
    const info = await attempt(found, path, lstat(path));
    if (info === undefined) continue;
    if (info.isDirectory()) await walk(path, found, seen, probeMs);
    else if (!info.isSymbolicLink()) await add(path, found, seen, probeMs);
    else {
      const target = await stat(path).catch((error: NodeJS.ErrnoException) => error);
      if (target instanceof Error) {
        if (BROKEN.has(target.code ?? '')) skip(found, path, 'broken link');
        else fail(found, path, target);
      } else if (target.isDirectory()) skip(found, path, 'directory link');
      else await add(path, found, seen, probeMs);
    }
  }
}

async function add(
  path: Buffer,
  found: FoundFile[],
  seen: Set<string>,
  probeMs: number,
): Promise<void> {
  const real = await attempt(found, path, realpath(path, { encoding: 'buffer' }));
  if (real === undefined) return;
  // latin1 maps each byte to one char: a lossless key for any name.
  const key = real.toString('latin1');
  if (seen.has(key)) return;
  seen.add(key);
  const info = await attempt(found, path, stat(real));
  if (info === undefined) return;
  if (!info.isFile()) skip(found, path, 'special file');
  // A size of 0 is not proof of no content: /proc and /sys files say 0 and have plenty.
  else if (info.size > 0) found.push({ path, shown: displayPath(path) });
  else {
    const content = await sizeZeroContent(real, displayPath(path), probeMs);
    if (content === 'content') found.push({ path, shown: displayPath(path) });
    else skip(found, path, content === 'special' ? 'special file' : 'empty file');
  }
}

/**
 * What a file whose stat said 0 bytes holds, judged on one handle, opened the way a scan
 * opens it (its type checked by path, then on the handle): a FIFO or device swapped in since
 * that stat is neither opened nor read as "empty". A file that cannot be opened or read
 * within `limitMs` (a hung mount) is scanned, so the scan reports why.
 */
async function sizeZeroContent(
  real: Buffer,
  shown: string,
  limitMs: number,
): Promise<'content' | 'empty' | 'special'> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'content'>((resolve) => {
    timer = setTimeout(() => resolve('content'), limitMs);
  });
  const probe = (async (): Promise<'content' | 'empty' | 'special'> => {
    let opened: OpenFile;
    try {
      opened = await openRegularFile(real, shown);
    } catch (error) {
      return isRefusal(error) ? 'special' : 'content';
    }
    try {
      const { bytesRead } = await opened.handle.read(Buffer.alloc(1), 0, 1, 0);
      return bytesRead > 0 ? 'content' : 'empty';
    } catch {
      return 'content';
    } finally {
      // Not awaited: Node's close waits for a read in flight, which on a hung mount never ends.
      void opened.handle.close().catch(() => {});
    }
  })();
  try {
    return await Promise.race([probe, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** openRegularFile's refusal of something that is not a regular file (a FIFO, a device). */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof ScanError &&
    error.kind === 'io' &&
    / is not a regular file /.test(error.message)
  );
}

function skip(found: FoundFile[], path: Buffer, kind: SkipKind): void {
  found.push({ path, shown: displayPath(path), skipped: kind });
}

function fail(found: FoundFile[], path: Buffer, error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  const kind = code === 'ENOENT' ? 'file_not_found' : 'io';
  found.push({
    path,
    shown: displayPath(path),
    unreadable: new ScanError(kind, cannotRead(path, error), { cause: error }),
  });
}

/** The operation's result, or undefined with an error line for `path` when it failed. */
async function attempt<T>(
  found: FoundFile[],
  path: Buffer,
  operation: Promise<T>,
): Promise<T | undefined> {
  try {
    return await operation;
  } catch (error) {
    fail(found, path, error);
    return undefined;
  }
}

/** `dir/name`, as path.join would put it, on bytes. */
function child(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === 0x2e) return name;
  return dir.at(-1) === SLASH
    ? Buffer.concat([dir, name])
    : Buffer.concat([dir, Buffer.of(SLASH), name]);
}

function cannotRead(path: Buffer, error: unknown): string {
  return `cannot read ${displayPath(path)}: ${describeFsError(error)}`;
}
