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
  /**
   * What every preparation holding bytes in memory shares; default one budget of
   * {@link DEFAULT_MEMORY_BUDGET} for every preparation given none.
   */
  memoryBudget?: MemoryBudget | undefined;
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

/** The bytes preparations hold in memory at once, by default: 64 MiB. */
export const DEFAULT_MEMORY_BUDGET = 64 * 1024 * 1024;

/**
 * How many bytes the preparations sharing it may hold in memory at once. Each holds a small
 * input in memory only while the total fits; one that would pass it goes to disk instead, so
 * many uploads stalled just short of 1 MiB cannot fill the heap. A preparation is charged the
 * memory it holds the bytes in (at most twice the bytes of a stream, a file's size), so a
 * stream sent in tiny chunks costs no more than one sent in large ones.
 */
export class MemoryBudget {
  readonly limit: number;
  private taken = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.taken;
  }

  get available(): number {
    return this.limit - this.taken;
  }

  /** Takes `bytes` if they fit, and says whether they did; nothing is taken when they do not. */
  take(bytes: number): boolean {
    if (bytes > this.available) return false;
    this.taken += bytes;
    return true;
  }

  give(bytes: number): void {
    this.taken -= bytes;
  }
}

const sharedBudget = new MemoryBudget(DEFAULT_MEMORY_BUDGET);

/**
 * Checks the input before any engine sees it, so a missing, empty, unreadable or oversized file
 * never reaches (or trips) an engine. A stream is read once, into memory while it fits and into
 * a private temporary file past that, and engines read that: several engines and the quarantine
 * can all have the whole file, and memory use stays bounded whatever its size.
 */
export async function prepareInput(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  if (input.kind === 'stream') return held(input, input, options);
  const { path } = input;
  if (path === undefined) return inMemory(input, options);
  const file = await openRegularFile(path);
  const release = releaser(file);
  try {
    // A preparation that timed out while the open was stuck has nobody to hand the file to.
    options.signal?.throwIfAborted();
    if (file.size > options.maxBytes) throw tooLarge(path, options.maxBytes, file.size);
    // A file on disk that does not fit in memory now is read from its handle, not copied.
    const budget = options.memoryBudget ?? sharedBudget;
    if (file.size > Math.min(options.inMemoryBytes ?? IN_MEMORY_BYTES, budget.available)) {
      return onDisk(input, file, options);
    }
    // A stat size of 0 says nothing (/proc files have content): such a file is read as a stream
    // is, to find out how much there is.
    const prepared = await held(input, input.withOpenFile(file), options, file.size);
    release();
    return prepared;
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

/** Bytes already in memory: measured once, for every engine. */
async function inMemory(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  const read = new MeteredRead(input, options);
  const parts: Uint8Array[] = [];
  for await (const chunk of read.chunks()) parts.push(chunk);
  return inMemoryCopy(input, joinChunks(parts), read.metadata());
}

function inMemoryCopy(
  original: FileInput,
  bytes: Uint8Array,
  metadata: FileMetadata,
  release: () => void = () => {},
): Prepared {
  const input = original.withContent(bytes, metadata);
  const engineInput: EngineInput = { input, metadata: () => metadata };
  return { input, forEngine: () => engineInput, close: async () => release() };
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
 * Reads `reading` once, hashed as it arrives, into memory while it fits in `inMemoryBytes` and
 * the memory budget; once it grows past either, what was read so far and then the rest go to a
 * private temporary file instead (giving its share of the budget back), so memory stays
 * bounded. The result is still `original` in its name, label and path. `expectedBytes` (a
 * file's stat size) sizes the memory it is read into, so a file that fits is charged its size.
 */
async function held(
  original: FileInput,
  reading: FileInput,
  options: PrepareOptions,
  expectedBytes = 0,
): Promise<Prepared> {
  const inMemoryBytes = options.inMemoryBytes ?? IN_MEMORY_BYTES;
  const memory = new HeldBytes(inMemoryBytes, options.memoryBudget ?? sharedBudget, expectedBytes);
  const read = new MeteredRead(reading, options);
  let spool: Spool | undefined;
  try {
    for await (const chunk of read.chunks()) {
      if (spool !== undefined) {
        await spool.write(chunk);
        continue;
      }
      if (memory.append(chunk)) continue;
      // Given back before the copy is made, not after: the streams held with it fill the budget
      // again instead of all going to disk while this one's folder is made. What it held is
      // written out at the disk's pace, not the client's, so no client keeps it in memory.
      const sofar = memory.bytes();
      memory.release();
      const { spoolDir } = options;
      spool = await Spool.create(spoolDir, 'scanbridge-', spoolErrors(original, spoolDir));
      await spool.write(sofar);
      await spool.write(chunk);
    }
    if (spool === undefined) {
      return inMemoryCopy(original, memory.bytes(), read.metadata(), () => memory.release());
    }
    await spool.finish();
    const copy = original.withSpooledCopy(spool.path);
    const metadata = read.metadata();
    const engineInput: EngineInput = { input: copy, metadata: () => metadata };
    const done = spool;
    return { input: copy, forEngine: () => engineInput, close: () => done.remove() };
  } catch (error) {
    memory.release();
    await spool?.remove();
    throw error;
  }
}

/**
 * The bytes of an input held in memory, copied into one buffer that doubles as it fills. Kept as
 * the chunks that came, a stream sent in 16-byte reads would hold 14 times its bytes (an object
 * per chunk), and a chunk that is a view of a larger buffer would keep all of that alive. The
 * budget is charged the buffer's capacity, which is what the heap holds: at most twice the bytes.
 */
class HeldBytes {
  private readonly limit: number;
  private readonly budget: MemoryBudget;
  private readonly expectedBytes: number;
  private buffer = new Uint8Array(0);
  private length = 0;

  constructor(limit: number, budget: MemoryBudget, expectedBytes: number) {
    this.limit = limit;
    this.budget = budget;
    this.expectedBytes = expectedBytes;
  }

  /**
   * Copies `chunk` in while the bytes stay within the limit and the budget; says whether it did
   * (nothing is added when it does not).
   */
  append(chunk: Uint8Array): boolean {
    const needed = this.length + chunk.byteLength;
    if (needed > this.buffer.byteLength && !this.grow(needed)) return false;
    this.buffer.set(chunk, this.length);
    this.length = needed;
    return true;
  }

  /** The bytes held: a view, not a copy. */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** Gives the budget back; holds nothing after, so a second call gives nothing. */
  release(): void {
    this.budget.give(this.buffer.byteLength);
    this.buffer = new Uint8Array(0);
    this.length = 0;
  }

  private grow(needed: number): boolean {
    if (needed > this.limit) return false;
    const current = this.buffer.byteLength;
    const capacity = Math.min(this.limit, Math.max(needed, 2 * current, this.expectedBytes));
    if (!this.budget.take(capacity - current)) return false;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes());
    this.buffer = grown;
    return true;
  }
}

/** How a spool's failures read: the directory could not be made, or a write (or the close) failed. */
export interface SpoolErrors {
  noDirectory(error: unknown): ScanError;
  writeFailed(error: unknown): ScanError;
}

/**
 * A private temporary file (mode 0600) in a directory of its own, made with `prefix` under
 * `spoolDir`: written in full, then closed, and removed however the scan ends.
 */
export class Spool {
  readonly path: string;
  private readonly dir: string;
  private readonly handle: FileHandle;
  private readonly errors: SpoolErrors;
  private open = true;

  private constructor(dir: string, handle: FileHandle, errors: SpoolErrors) {
    this.dir = dir;
    this.path = join(dir, 'input');
    this.handle = handle;
    this.errors = errors;
  }

  static async create(spoolDir: string, prefix: string, errors: SpoolErrors): Promise<Spool> {
    const dir = await mkdtemp(join(spoolDir, prefix)).catch((error: unknown) => {
      throw errors.noDirectory(error);
    });
    const handle = await open(join(dir, 'input'), 'wx', 0o600).catch(async (error: unknown) => {
      await removeDir(dir);
      throw errors.writeFailed(error);
    });
    return new Spool(dir, handle, errors);
  }

  /** FileHandle.write may write less than it was given (a disk filling up): the rest follows. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.handle
        .write(chunk, offset, chunk.byteLength - offset)
        .catch((error: unknown) => {
          throw this.errors.writeFailed(error);
        });
      offset += bytesWritten;
    }
  }

  /** A write the disk reports only on close (NFS, a quota) leaves the copy incomplete. */
  async finish(): Promise<void> {
    this.open = false;
    await this.handle.close().catch((error: unknown) => {
      throw this.errors.writeFailed(error);
    });
  }

  /** Never rejects: a copy left in the private spool folder must not replace the scan's answer. */
  async remove(): Promise<void> {
    if (this.open) {
      this.open = false;
      await this.handle.close().catch(() => {
        // The copy is dropped anyway; the reason it failed is the error worth telling.
      });
    }
    await removeDir(this.dir);
  }
}

function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true }).catch(() => {
    // Left behind in the private spool folder: nothing reads it, and the answer stands.
  });
}

/** What the manager's spool of `original` says when it fails: which input, where, and why. */
function spoolErrors(original: FileInput, spoolDir: string): SpoolErrors {
  const what = original.path ?? original.filename ?? 'the input';
  return {
    noDirectory: (error) =>
      new ScanError(
        'configuration',
        `Cannot create a spool directory in ${spoolDir} (option "spoolDir"): ${describeFsError(error)}`,
        { cause: error },
      ),
    writeFailed: (error) =>
      new ScanError(
        'io',
        `Cannot spool ${what} into ${spoolDir} (option "spoolDir"): ${describeFsError(error)}`,
        { cause: error },
      ),
  };
}
