import { constants } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { normalize } from 'node:path';
import { displayPath } from './display-path.js';
import { describeFsError } from './errno.js';

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
 * A file to scan, or one that was found but will not be scanned. Paths are bytes, as the
 * file system has them: a name that is not valid UTF-8 has no string Node could open it by.
 */
export interface FoundFile {
  readonly path: Buffer;
  /** The path as it is shown: valid UTF-8 as itself, any other byte escaped (`\xff`). */
  readonly shown: string;
  readonly skipped?: SkipKind | undefined;
}

/** A path that does not exist or cannot be read: the run stops before scanning anything. */
export class PathError extends Error {
  readonly code = 'SCANBRIDGE_PATH';
}

const SLASH = 0x2f;

/**
 * Every file under `paths`, in order, each once (by its real path): files as named,
 * directories recursively and sorted by their bytes. Links to files are followed; links to
 * directories inside a tree are not (they could loop), and are reported as unchecked.
 */
export async function findFiles(paths: readonly Buffer[]): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const seen = new Set<string>();
  for (const given of paths) {
    // latin1 keeps every byte as one char, and "/" and "." as themselves.
    const path = Buffer.from(normalize(given.toString('latin1')), 'latin1');
    const info = await stat(path).catch(unreadable(path));
    if (info.isDirectory()) await walk(path, found, seen);
    else await add(path, found, seen);
  }
  return found;
}

async function walk(dir: Buffer, found: FoundFile[], seen: Set<string>): Promise<void> {
  const names = (await readdir(dir, { encoding: 'buffer' }).catch(unreadable(dir))).sort(
    Buffer.compare,
  );
  for (const name of names) {
    const path = child(dir, name);
    const info = await lstat(path).catch(unreadable(path));
    if (info.isDirectory()) await walk(path, found, seen);
    else if (!info.isSymbolicLink()) await add(path, found, seen);
    else {
      const target = await stat(path).catch(() => undefined);
      if (target === undefined) skip(found, path, 'broken link');
      else if (target.isDirectory()) skip(found, path, 'directory link');
      else await add(path, found, seen);
    }
  }
}

async function add(path: Buffer, found: FoundFile[], seen: Set<string>): Promise<void> {
  const real = await realpath(path, { encoding: 'buffer' }).catch(unreadable(path));
  // latin1 maps each byte to one char: a lossless key for any name.
  const key = real.toString('latin1');
  if (seen.has(key)) return;
  seen.add(key);
  const info = await stat(real).catch(unreadable(path));
  if (!info.isFile()) skip(found, path, 'special file');
  // A size of 0 is not proof of no content: /proc and /sys files say 0 and have plenty.
  else if (info.size === 0 && !(await hasContent(path))) skip(found, path, 'empty file');
  else found.push({ path, shown: displayPath(path) });
}

/** Whether a file whose stat says 0 bytes has any; a file that cannot be read is scanned, so the scan reports why. */
async function hasContent(path: Buffer): Promise<boolean> {
  try {
    // Non-blocking: a FIFO swapped in since the stat must not hang the run here.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, 0);
      return bytesRead > 0;
    } finally {
      await handle.close();
    }
  } catch {
    return true;
  }
}

function skip(found: FoundFile[], path: Buffer, kind: SkipKind): void {
  found.push({ path, shown: displayPath(path), skipped: kind });
}

/** `dir/name`, as path.join would put it, on bytes. */
function child(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === 0x2e) return name;
  return dir.at(-1) === SLASH
    ? Buffer.concat([dir, name])
    : Buffer.concat([dir, Buffer.of(SLASH), name]);
}

function unreadable(path: Buffer): (error: NodeJS.ErrnoException) => never {
  return (error) => {
    throw new PathError(`cannot read ${displayPath(path)}: ${describeFsError(error)}`);
  };
}
