import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A file to scan, or one that was found but will not be scanned, and why. `unchecked` marks
 * content that exists but was not looked at (a linked directory), which a run must not call
 * allowed; an empty file or a broken link has no content to check.
 */
export type FoundFile =
  | { readonly path: string; readonly skipped?: undefined }
  | { readonly path: string; readonly skipped: string; readonly unchecked: boolean };

/** A path that does not exist or cannot be read: the run stops before scanning anything. */
export class PathError extends Error {}

/**
 * Every file under `paths`, in order, each once (by its real path): files as named,
 * directories recursively and sorted. Links to files are followed; links to directories
 * inside a tree are not (they could loop), and are reported as unchecked.
 */
export async function findFiles(paths: readonly string[]): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    const info = await stat(path).catch(unreadable(path));
    if (info.isDirectory()) await walk(path, found, seen);
    else await add(path, found, seen);
  }
  return found;
}

async function walk(dir: string, found: FoundFile[], seen: Set<string>): Promise<void> {
  const names = (await readdir(dir).catch(unreadable(dir))).sort();
  for (const name of names) {
    const path = join(dir, name);
    const info = await lstat(path).catch(unreadable(path));
    if (info.isDirectory()) await walk(path, found, seen);
    else if (!info.isSymbolicLink()) await add(path, found, seen);
    else {
      const target = await stat(path).catch(() => undefined);
      if (target === undefined) {
        found.push({ path, skipped: 'broken symbolic link', unchecked: false });
      } else if (target.isDirectory()) {
        found.push({ path, skipped: 'link to a directory, not followed', unchecked: true });
      } else await add(path, found, seen);
    }
  }
}

async function add(path: string, found: FoundFile[], seen: Set<string>): Promise<void> {
  const real = await realpath(path).catch(unreadable(path));
  if (seen.has(real)) return;
  seen.add(real);
  const info = await stat(real).catch(unreadable(path));
  if (!info.isFile()) found.push({ path, skipped: 'not a regular file', unchecked: true });
  else if (info.size === 0) {
    found.push({ path, skipped: 'empty file, nothing to scan', unchecked: false });
  } else found.push({ path });
}

function unreadable(path: string): (error: NodeJS.ErrnoException) => never {
  return (error) => {
    throw new PathError(`cannot read ${path}: ${error.code ?? error.message}`);
  };
}
