import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanError } from './errors.js';
import type { ExtraHash } from './hashing.js';
import { FileInput, joinChunks, tooLarge } from './input.js';
import { MeteredRead, readMetadata } from './metadata.js';
import { type OpenFile, openRegularFile, readOpenFile } from './open-file.js';
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
  /** Releases the file (a handle, a spooled copy); always called. */
  close(): Promise<void>;
}

export interface EngineInput {
  readonly input: FileInput;
  /**
   * Once the engine is done: the metadata of what it read, measured here, never taken from its
   * result. `signal` stops a read this needs (for an engine that read without metering).
   */
  metadata(signal?: AbortSignal): Promise<FileMetadata>;
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
  if (input.kind === 'stream') return spooled(input, options);
  const { path } = input;
  if (path === undefined) return inMemory(input, input, options, async () => {});
  const file = await openRegularFile(path);
  const release = () => file.handle.close();
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
    const rest = FileInput.fromStream(readOpenFile(file), { filename: input.filename });
    const copy = await spooled(rest, options);
    await release();
    return copy;
  } catch (error) {
    await release();
    throw error;
  }
}

async function inMemory(
  original: FileInput,
  reading: FileInput,
  options: PrepareOptions,
  release: () => Promise<void>,
): Promise<Prepared> {
  const read = new MeteredRead(reading, options);
  const parts: Uint8Array[] = [];
  for await (const chunk of read.chunks()) parts.push(chunk);
  await release();
  const metadata = read.metadata();
  const input = original.withContent(joinChunks(parts), metadata);
  const engineInput: EngineInput = { input, metadata: async () => metadata };
  return { input, forEngine: () => engineInput, close: async () => {} };
}

/**
 * Each engine gets its own view of the open file, which hears the metadata of the engine's
 * metered read: what the engine scanned is what its result is checked against. An engine that
 * reads without metering gets the file hashed here, once, instead.
 */
function onDisk(original: FileInput, file: OpenFile, options: PrepareOptions): Prepared {
  const input = original.withOpenFile(file);
  let ours: Promise<FileMetadata> | undefined;
  const hashedHere = (signal: AbortSignal | undefined) => {
    ours ??= readMetadata(input, { hashes: options.hashes, signal });
    return ours;
  };
  return {
    input,
    forEngine() {
      let seen: FileMetadata | undefined;
      const view = original.withOpenFile(file, (metadata) => {
        seen ??= metadata;
      });
      return { input: view, metadata: async (signal) => seen ?? hashedHere(signal) };
    },
    close: () => file.handle.close(),
  };
}

async function spooled(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  const dir = await mkdtemp(join(options.spoolDir, 'scanbridge-')).catch((error: unknown) => {
    throw new ScanError(
      'configuration',
      `Cannot create a spool directory in ${options.spoolDir} (option "spoolDir"): ${(error as Error).message}`,
      { cause: error },
    );
  });
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'input');
    const read = new MeteredRead(input, options);
    const handle = await open(path, 'wx', 0o600);
    try {
      for await (const chunk of read.chunks()) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    const copy = input.withPath(path);
    const metadata = read.metadata();
    const engineInput: EngineInput = { input: copy, metadata: async () => metadata };
    return { input: copy, forEngine: () => engineInput, close: remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
