import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanError } from './errors.js';
import { describeFsError } from './fs-error.js';
import type { ExtraHash } from './hashing.js';
import { type FileInput, joinChunks, tooLarge } from './input.js';
import { MeteredRead } from './metadata.js';
import { type OpenFile, openRegularFile } from './open-file.js';
import type { FileMetadata } from './result.js';

export interface PrepareOptions {
  maxBytes: number;
  hashes: readonly ExtraHash[];
  signal: AbortSignal | undefined;
  spoolDir: string;
  /** Files up to this size are read into memory; default {@link IN_MEMORY_BYTES}. */
  inMemoryBytes?: number | undefined;
}

/** The input made ready for its engines: checked, and readable as often as needed. */
export interface Prepared {
  /** What the quarantine copies. */
  readonly input: FileInput;
  /** What one engine reads, and the metadata of the bytes it was given. */
  forEngine(): EngineInput;
  /**
   * Releases the file (a handle, a spooled copy); always called. Never rejects, and never
   * waits for a read still in flight (a stuck disk): the handle closes once that read ends.
   */
  close(): Promise<void>;
}

export interface EngineInput {
  readonly input: FileInput;
  /**
   * Once the engine is done: the metadata of the last complete read of `input`, measured as it
   * was read (however the engine read it), never taken from its result; undefined when the
   * engine read none of it.
   */
  metadata(): FileMetadata | undefined;
}

/**
 * Files up to this size are read into memory once, hashed once, and every engine reads that
 * copy; larger ones are read by the engines themselves, from the handle opened here, so memory
 * stays flat and the file is still read once (for one engine).
 */
export const IN_MEMORY_BYTES = 1024 * 1024;

/**
 * Checks the input before any engine sees it, so a missing, empty, unreadable or oversized file
 * never reaches (or trips) an engine. A stream is read once, into a private temporary file, and
 * engines read that: several engines and the quarantine can all have the whole file, and memory
 * use stays flat whatever its size.
 */
export async function prepareInput(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  if (input.kind === 'stream') return spooled(input, input, options);
  const { path } = input;
  if (path === undefined) return inMemory(input, input, options, () => {});
  const file = await openRegularFile(path);
  const release = releaser(file);
  try {
    // A preparation that timed out while the open was stuck has nobody to hand the file to.
    options.signal?.throwIfAborted();
    if (file.size > options.maxBytes) throw tooLarge(path, options.maxBytes, file.size);
    const inMemoryBytes = options.inMemoryBytes ?? IN_MEMORY_BYTES;
    if (file.size > inMemoryBytes) return onDisk(input, file, options);
    if (file.size > 0 || options.maxBytes <= inMemoryBytes)
      return await inMemory(input, input.withOpenFile(file), options, release);
    // A stat size of 0 says nothing (/proc files have content): the file is read to find out,
    // into memory while it fits, else into a spooled copy, so memory stays bounded either way.
    const fits = await inMemory(
      input,
      input.withOpenFile(file),
      { ...options, maxBytes: inMemoryBytes },
      release,
    ).catch((error: unknown) => {
      if (error instanceof ScanError && error.kind === 'file_too_large') return undefined;
      throw error;
    });
    if (fits !== undefined) return fits;
    const copy = await spooled(input, input.withOpenFile(file), options);
    release();
    return copy;
  } catch (error) {
    release();
    throw error;
  }
}

/** Closes the handle without waiting for reads in flight; Node closes it once they end. */
function releaser(file: OpenFile): () => void {
  return () => {
    file.handle.close().catch(() => {
      // Closing a handle that was read only cannot lose data.
    });
  };
}

async function inMemory(
  original: FileInput,
  reading: FileInput,
  options: PrepareOptions,
  release: () => void,
): Promise<Prepared> {
  const read = new MeteredRead(reading, options);
  const parts: Uint8Array[] = [];
  for await (const chunk of read.chunks()) parts.push(chunk);
  release();
  const metadata = read.metadata();
  const input = original.withContent(joinChunks(parts), metadata);
  const engineInput: EngineInput = { input, metadata: () => metadata };
  return { input, forEngine: () => engineInput, close: async () => {} };
}

/**
 * Each engine gets its own view of the open file, which measures every complete read of it
 * with the manager's digests, however the engine reads (metered, readAll, chunks): what the
 * engine scanned is what its result is checked against, with nothing read twice for that.
 */
function onDisk(original: FileInput, file: OpenFile, options: PrepareOptions): Prepared {
  const { hashes } = options;
  return {
    input: original.withOpenFile(file),
    forEngine() {
      // The last read counts: an engine that sends the file again (a broken connection)
      // answers about its last sending.
      let last: FileMetadata | undefined;
      const onRead = (metadata: FileMetadata): void => {
        last = metadata;
      };
      return { input: original.withOpenFile(file, { hashes, onRead }), metadata: () => last };
    },
    close: async () => releaser(file)(),
  };
}

/**
 * Copies `reading` into a private temporary file; the result reads that copy and is still
 * `original` in its name, label and path.
 */
async function spooled(
  original: FileInput,
  reading: FileInput,
  options: PrepareOptions,
): Promise<Prepared> {
  const { spoolDir } = options;
  const dir = await mkdtemp(join(spoolDir, 'scanbridge-')).catch((error: unknown) => {
    throw new ScanError(
      'configuration',
      `Cannot create a spool directory in ${spoolDir} (option "spoolDir"): ${describeFsError(error)}`,
      { cause: error },
    );
  });
  const remove = () =>
    rm(dir, { recursive: true, force: true }).catch(() => {
      // A copy left in the private spool folder must not replace the scan's answer.
    });
  try {
    const path = join(dir, 'input');
    const read = new MeteredRead(reading, options);
    const handle = await open(path, 'wx', 0o600).catch((error: unknown) => {
      throw spoolFailure(original, spoolDir, error);
    });
    try {
      for await (const chunk of read.chunks()) await writeAll(handle, chunk, original, spoolDir);
    } catch (error) {
      await handle.close().catch(() => {
        // The copy is dropped anyway; the reason it failed is the error worth telling.
      });
      throw error;
    }
    // A write the disk reports only on close (NFS, a quota) leaves the copy incomplete.
    await handle.close().catch((error: unknown) => {
      throw spoolFailure(original, spoolDir, error);
    });
    const copy = original.withSpooledCopy(path);
    const metadata = read.metadata();
    const engineInput: EngineInput = { input: copy, metadata: () => metadata };
    return { input: copy, forEngine: () => engineInput, close: remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** FileHandle.write may write less than it was given (a disk filling up): the rest follows. */
async function writeAll(
  handle: FileHandle,
  chunk: Uint8Array,
  original: FileInput,
  spoolDir: string,
): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle
      .write(chunk, offset, chunk.byteLength - offset)
      .catch((error: unknown) => {
        throw spoolFailure(original, spoolDir, error);
      });
    offset += bytesWritten;
  }
}

function spoolFailure(original: FileInput, spoolDir: string, error: unknown): ScanError {
  const what = original.path ?? original.filename ?? 'the input';
  return new ScanError(
    'io',
    `Cannot spool ${what} into ${spoolDir} (option "spoolDir"): ${describeFsError(error)}`,
    { cause: error },
  );
}
