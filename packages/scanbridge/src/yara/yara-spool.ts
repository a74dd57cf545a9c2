import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import { joinChunks } from '../input.js';

/** What YARA-X scans: the bytes in memory, or a private copy on disk. */
export type Held =
  | { readonly bytes: Uint8Array; readonly path?: undefined; remove(): Promise<void> }
  | { readonly bytes?: undefined; readonly path: string; remove(): Promise<void> };

const NOTHING = async (): Promise<void> => {};

/**
 * Reads `chunks` to the end (so the read is hashed whole), keeping them only while they fit in
 * `inMemoryBytes`: the bytes, or undefined past that, with nothing held.
 */
export async function readUpTo(
  chunks: AsyncIterable<Uint8Array>,
  inMemoryBytes: number,
): Promise<Uint8Array | undefined> {
  let parts: Uint8Array[] | undefined = [];
  let size = 0;
  for await (const chunk of chunks) {
    if (parts === undefined) continue;
    parts.push(chunk);
    size += chunk.byteLength;
    if (size > inMemoryBytes) parts = undefined;
  }
  return parts === undefined ? undefined : joinChunks(parts);
}

/**
 * Keeps what `chunks` yields in memory up to `inMemoryBytes`, and past that writes it all to a
 * private temporary file in `spoolDir`, so memory stays flat whatever the size. The copy is
 * removed when this fails, and by `remove()` otherwise (never rejects).
 */
export async function hold(
  chunks: AsyncIterable<Uint8Array>,
  inMemoryBytes: number,
  spoolDir: string,
  engine: string,
): Promise<Held> {
  const parts: Uint8Array[] = [];
  let size = 0;
  let spool: Spool | undefined;
  try {
    for await (const chunk of chunks) {
      if (spool !== undefined) {
        await spool.write(chunk);
        continue;
      }
      parts.push(chunk);
      size += chunk.byteLength;
      if (size > inMemoryBytes) {
        spool = await Spool.create(spoolDir, engine);
        for (const part of parts.splice(0)) await spool.write(part);
      }
    }
    if (spool === undefined) return { bytes: joinChunks(parts), remove: NOTHING };
    await spool.close();
    const done = spool;
    return { path: done.path, remove: () => done.remove() };
  } catch (error) {
    await spool?.remove();
    throw error;
  }
}

class Spool {
  readonly path: string;
  private readonly dir: string;
  private readonly handle: FileHandle;
  private readonly engine: string;
  private closed = false;

  private constructor(dir: string, handle: FileHandle, engine: string) {
    this.dir = dir;
    this.path = join(dir, 'input');
    this.handle = handle;
    this.engine = engine;
  }

  static async create(spoolDir: string, engine: string): Promise<Spool> {
    const dir = await mkdtemp(join(spoolDir, 'scanbridge-yara-')).catch((error: unknown) => {
      throw new ScanError(
        'configuration',
        `${engine}: cannot create a spool directory in ${spoolDir} (option "spoolDir"): ${describeFsError(error)}`,
        { engine, cause: error },
      );
    });
    try {
      const handle = await open(join(dir, 'input'), 'wx', 0o600);
      return new Spool(dir, handle, engine);
    } catch (error) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw failure(engine, spoolDir, error);
    }
  }

  /** FileHandle.write may write less than it was given (a disk filling up): the rest follows. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.handle
        .write(chunk, offset, chunk.byteLength - offset)
        .catch((error: unknown) => {
          throw failure(this.engine, this.dir, error);
        });
      offset += bytesWritten;
    }
  }

  /** A write the disk reports only on close (NFS, a quota) leaves the copy incomplete. */
  async close(): Promise<void> {
    this.closed = true;
    await this.handle.close().catch((error: unknown) => {
      throw failure(this.engine, this.dir, error);
    });
  }

  async remove(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => {
        // The copy is dropped anyway.
      });
    }
    await rm(this.dir, { recursive: true, force: true }).catch(() => {
      // A copy left in the private spool folder must not replace the scan's answer.
    });
  }
}

function failure(engine: string, where: string, error: unknown): ScanError {
  return new ScanError(
    'io',
    `${engine}: cannot write the temporary copy to scan in ${where}: ${describeFsError(error)}`,
    { engine, cause: error },
  );
}
