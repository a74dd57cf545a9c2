import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { ScanError } from './errors.js';
import { describeFsError } from './fs-error.js';

// O_NONBLOCK: opening a FIFO (or a device) by path can otherwise wait forever for a writer,
// holding one of libuv's four threads; a regular file reads the same with or without it.
// No O_NOFOLLOW: a link to a regular file is scanned on purpose (the CLI follows them).
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const CHUNK_BYTES = 64 * 1024;

/** A regular file, opened once; everything about it comes from this handle, never the path again. */
export interface OpenFile {
  readonly handle: FileHandle;
  /** From fstat when opened; 0 may still have content (/proc files). */
  readonly size: number;
}

/**
 * Opens `path` for reading without ever blocking, and refuses anything that is not a regular
 * file. What was checked is what gets read: the handle is checked again once open, and there
 * is no second open by path to race with. A path given as bytes (a name that is not valid
 * UTF-8, which no string can name) comes with `label`, how messages name it.
 */
export async function openRegularFile(
  path: string | Buffer,
  label: string = path.toString(),
): Promise<OpenFile> {
  // Checked by path before it is opened at all: opening a device can act on it (a watchdog
  // arms, a tape rewinds, a modem line rises), O_NONBLOCK or not. Something swapped in after
  // this check is opened, but refused by the check on the handle, before a byte is read.
  const checked = await stat(path).catch((error: unknown) => {
    throw openFailure(label, error);
  });
  refuseUnlessFile(label, checked);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw openFailure(label, error);
  }
  try {
    const info = await handle.stat();
    refuseUnlessFile(label, info);
    return { handle, size: info.size };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error instanceof ScanError ? error : openFailure(label, error);
  }
}

/**
 * The file's bytes from its start, by position, so several readers can share one handle. A
 * file with a size is read up to that size (the file as it was when opened); one whose stat
 * says 0 is read until a read returns nothing.
 */
export async function* readOpenFile(file: OpenFile): AsyncGenerator<Uint8Array, void, undefined> {
  const { handle, size } = file;
  let position = 0;
  while (size === 0 || position < size) {
    const length = size === 0 ? CHUNK_BYTES : Math.min(CHUNK_BYTES, size - position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
  }
}

interface FileType {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

function refuseUnlessFile(path: string, info: FileType): void {
  if (info.isFile()) return;
  if (info.isDirectory()) {
    throw new ScanError('io', `${path} is a directory; scan the files inside it instead`);
  }
  throw new ScanError(
    'io',
    `${path} is not a regular file (${typeOf(info)}); only files can be scanned`,
  );
}

function typeOf(info: FileType): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a file';
}

function openFailure(path: string, error: unknown): ScanError {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ScanError('file_not_found', `file not found: ${path}`, { cause: error });
  }
  // A unix socket cannot be opened at all.
  if (code === 'ENXIO') {
    return new ScanError(
      'io',
      `${path} is not a regular file (a socket); only files can be scanned`,
      {
        cause: error,
      },
    );
  }
  return new ScanError('io', `cannot read ${path}: ${describeFsError(error)}`, { cause: error });
}
