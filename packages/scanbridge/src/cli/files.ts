import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A file to scan, or one that was found but will not be scanned (and why). */
export type FoundFile =
  | { readonly path: string; readonly skipped?: undefined }
  | { readonly path: string; readonly skipped: string };

/** A path that does not exist or cannot be read: the run stops before scanning anything. */
export class PathError extends Error {}

/**
 * Every file under `paths`, in order: files as named, directories recursively and sorted.
 * Paths named on the command line are followed even when they are symbolic links; links met
 * inside a directory are not (they could loop, or lead out of the tree being scanned). Empty
 * and special files are listed as skipped, so nothing disappears from the report silently.
 */
export async function findFiles(paths: readonly string[]): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(unreadable(path));
    if (info.isDirectory()) await walk(path, found);
    else found.push(describe(path, info));
  }
  return found;
}

async function walk(dir: string, found: FoundFile[]): Promise<void> {
  const names = (await readdir(dir).catch(unreadable(dir))).sort();
  for (const name of names) {
    const path = join(dir, name);
    const info = await lstat(path).catch(unreadable(path));
    if (info.isDirectory()) await walk(path, found);
    else if (info.isSymbolicLink()) found.push({ path, skipped: 'symbolic link, not followed' });
    else found.push(describe(path, info));
  }
}

function describe(path: string, info: { isFile(): boolean; size: number }): FoundFile {
  if (!info.isFile()) return { path, skipped: 'not a regular file' };
  if (info.size === 0) return { path, skipped: 'empty file, nothing to scan' };
  return { path };
}

function unreadable(path: string): (error: NodeJS.ErrnoException) => never {
  return (error) => {
    throw new PathError(`cannot read ${path}: ${error.code ?? error.message}`);
  };
}
