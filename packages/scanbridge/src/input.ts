import { basename } from 'node:path';
import { describeValue } from '@breakwater/core/validate';
import { ScanError } from './errors.js';
import type { ExtraHash } from './hashing.js';
import { Meter } from './metadata.js';
import { type OpenFile, openRegularFile, readOpenFile } from './open-file.js';
import type { FileMetadata } from './result.js';

export type InputKind = 'path' | 'bytes' | 'stream';

/** Anything that yields bytes: a Node Readable, a web ReadableStream, an async generator. */
export type ByteStream = AsyncIterable<Uint8Array>;

export interface ReadOptions {
  /** Stops reading; the error is the signal's reason (a breaker timeout stays a timeout). */
  signal?: AbortSignal | undefined;
  /** Fails with `file_too_large` past this many bytes, without reading the rest. */
  maxBytes?: number | undefined;
}

export interface StreamInputOptions {
  filename?: string | undefined;
  /** The expected size, when the sender said; informational, never trusted for limits. */
  sizeHint?: number | undefined;
}

/** Where the bytes come from; a path or bytes can be read again, a stream only once. */
interface Source {
  readonly kind: InputKind;
  /** What to call the input in error messages. */
  readonly label: string;
  /** The file on disk, for path inputs (and copies of them made while preparing a scan). */
  readonly path: string | undefined;
  open(): Promise<Opened>;
}

/** One read of a source: bytes already in memory, or a stream of them. */
type Opened = InMemory | Streaming;

interface InMemory {
  readonly bytes: Uint8Array;
}

interface Streaming {
  /** Known before reading; undefined for a stream, and for a file whose stat says 0 (/proc). */
  readonly size: number | undefined;
  readonly stream: ByteStream;
  /** Releases what the read holds (a file handle); never waits on a stalled source. */
  close(): Promise<void>;
}

const NOTHING_TO_CLOSE = async (): Promise<void> => {};

/** @internal Every complete read of an input is measured, and `onRead` hears the result. */
export interface Measure {
  readonly hashes: readonly ExtraHash[];
  onRead(metadata: FileMetadata): void;
}

/**
 * A file to scan. Scanners read it with {@link FileInput.chunks}; the checks every reader
 * needs (missing, a directory, empty, too large, a stream that fails) live here, once.
 */
export class FileInput {
  readonly filename: string | undefined;
  readonly sizeHint: number | undefined;
  /**
   * @internal The metadata of every read of this input, when it is known before reading (a copy
   * in memory made while preparing a scan): readers need not hash it again.
   */
  readonly knownMetadata: FileMetadata | undefined;
  private readonly source: Source;
  private readonly measure: Measure | undefined;

  private constructor(
    source: Source,
    filename: string | undefined,
    sizeHint: number | undefined,
    known?: FileMetadata,
    measure?: Measure,
  ) {
    this.source = source;
    this.filename = filename;
    this.sizeHint = sizeHint;
    this.knownMetadata = known;
    this.measure = measure;
  }

  /** A file on disk, read lazily (and again for every engine that reads it). */
  static fromPath(path: string, filename: string = basename(path)): FileInput {
    if (typeof path !== 'string' || path.length === 0) {
      throw new TypeError(
        `FileInput.fromPath: path must be a non-empty string, got ${describeValue(path)}`,
      );
    }
    return new FileInput(pathSource(path), filename, undefined);
  }

  static fromBytes(bytes: Uint8Array, filename?: string): FileInput {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(
        `FileInput.fromBytes: bytes must be a Uint8Array (or Buffer), got ${describeValue(bytes)}`,
      );
    }
    return new FileInput(bytesSource(bytes, filename), filename, bytes.byteLength);
  }

  /**
   * A stream, read once: the scan manager reads it whole before its engines do (into memory up
   * to 1 MiB, else into a private temporary file). Chunks are kept as they were yielded, so a
   * source must not reuse a chunk's memory for the next one.
   */
  static fromStream(stream: ByteStream, options: StreamInputOptions = {}): FileInput {
    if (typeof (stream as Partial<ByteStream> | null)?.[Symbol.asyncIterator] !== 'function') {
      throw new TypeError(
        `FileInput.fromStream: expected a readable stream or async iterable of bytes, got ${describeValue(stream)}`,
      );
    }
    const { filename, sizeHint } = options;
    if (sizeHint !== undefined && !(Number.isInteger(sizeHint) && sizeHint >= 0)) {
      throw new RangeError(
        `FileInput.fromStream: sizeHint must be an integer >= 0, got ${describeValue(sizeHint)}`,
      );
    }
    return new FileInput(streamSource(stream, filename), filename, sizeHint);
  }

  /**
   * @internal This input read from a copy of it on disk (spooled while preparing a scan). It
   * keeps its name, label and path (a stream gets the copy's) for messages and engines.
   */
  withSpooledCopy(copy: string): FileInput {
    const { label, path } = this.source;
    const source: Source = { kind: 'path', label, path: path ?? copy, open: pathSource(copy).open };
    return new FileInput(source, this.filename, this.sizeHint);
  }

  /** @internal This input's bytes, already read into memory, with their metadata. */
  withContent(bytes: Uint8Array, metadata: FileMetadata): FileInput {
    const { kind, label, path } = this.source;
    const source: Source = { kind, label, path, open: async () => ({ bytes }) };
    return new FileInput(source, this.filename, this.sizeHint, metadata);
  }

  /**
   * @internal This path input read from a file it already opened: every read starts at the
   * beginning of that same handle, and the owner of `file` closes it. With `measure`, every
   * complete read is measured here, however its reader reads (metered or not).
   */
  withOpenFile(file: OpenFile, measure?: Measure): FileInput {
    const { label, path } = this.source;
    const source: Source = {
      kind: 'path',
      label,
      path,
      open: async () => fileRead(file, NOTHING_TO_CLOSE),
    };
    return new FileInput(source, this.filename, this.sizeHint, undefined, measure);
  }

  /** @internal Whether every read is measured with (at least) these digests. */
  measures(hashes: readonly ExtraHash[] | undefined): boolean {
    const measured = this.measure?.hashes;
    return measured !== undefined && (hashes ?? []).every((name) => measured.includes(name));
  }

  get kind(): InputKind {
    return this.source.kind;
  }

  /**
   * The path, for path inputs: to name the file (in messages, in an engine's request), never to
   * read it again. An engine given this input by the scan manager reads a copy in memory or a
   * view of the handle opened once, and its result is checked against what it read through the
   * input: bytes read from the path itself may since differ, and nothing would vouch for them.
   */
  get path(): string | undefined {
    return this.source.path;
  }

  /**
   * The content, chunk by chunk. Fails with a ScanError for a missing file, anything that is
   * not a regular file (a directory, a FIFO, a device), an empty input (there is nothing to
   * scan: decided from what was read, as /proc files have content but a stat size of 0),
   * more than `maxBytes`, or a stream that errors.
   *
   * `measured` (internal, for MeteredRead) hears this read's metadata, for an input that
   * {@link FileInput.measures} its reads.
   */
  async *chunks(
    options: ReadOptions = {},
    measured?: (metadata: FileMetadata) => void,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { signal, maxBytes = Number.POSITIVE_INFINITY } = options;
    signal?.throwIfAborted();
    const opened = await this.source.open();
    if ('bytes' in opened) {
      // Nothing to wait on, so nothing to race against the signal.
      const { bytes } = opened;
      if (bytes.byteLength === 0) throw emptyInput(this.source.label);
      if (bytes.byteLength > maxBytes)
        throw tooLarge(this.source.label, maxBytes, bytes.byteLength);
      yield bytes;
      return;
    }
    const { size } = opened;
    const meter =
      this.measure === undefined ? undefined : new Meter(this.measure.hashes, this.filename);
    let total = 0;
    let iterator: AsyncIterator<Uint8Array> | undefined;
    let drained = false;
    const race = signal === undefined ? undefined : new AbortRace(signal);
    try {
      if (size !== undefined && size > maxBytes) throw tooLarge(this.source.label, maxBytes, size);
      iterator = opened.stream[Symbol.asyncIterator]();
      while (true) {
        const step = await (race === undefined ? iterator.next() : race.next(iterator));
        if (step.done === true) break;
        const chunk: unknown = step.value;
        if (!(chunk instanceof Uint8Array)) {
          // Only the type: a chunk's contents never go into an error message.
          throw new ScanError(
            'io',
            `${this.source.label} yielded a ${typeof chunk} chunk instead of bytes (set no encoding on the stream)`,
          );
        }
        total += chunk.byteLength;
        if (total > maxBytes) throw tooLarge(this.source.label, maxBytes);
        if (chunk.byteLength === 0) continue;
        meter?.update(chunk);
        yield chunk;
      }
      drained = true;
    } catch (error) {
      throw readFailure(error, this.source.label, total, signal);
    } finally {
      race?.dispose();
      // Stops the source (a Node stream is destroyed) without waiting on one that is stalled.
      if (!drained) iterator?.return?.()?.catch(() => {});
      const closing = opened.close();
      if (drained) await closing;
      else closing.catch(() => {});
    }
    if (total === 0) throw emptyInput(this.source.label);
    if (meter !== undefined) {
      const metadata = meter.result();
      this.measure?.onRead(metadata);
      measured?.(metadata);
    }
  }

  /** The whole content in memory: for engines that cannot stream. Stops at `maxBytes`. */
  async readAll(options: ReadOptions = {}): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const chunk of this.chunks(options)) parts.push(chunk);
    return joinChunks(parts);
  }
}

/** The chunks as one array; a single chunk is returned as it is, without a copy. */
export function joinChunks(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const all = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return all;
}

function pathSource(path: string): Source {
  return {
    kind: 'path',
    label: path,
    path,
    async open() {
      const file = await openRegularFile(path);
      return fileRead(file, () => file.handle.close());
    },
  };
}

/** A stat size of 0 is no size at all: /proc files have content and say 0. */
function fileRead(file: OpenFile, close: () => Promise<void>): Streaming {
  return { size: file.size === 0 ? undefined : file.size, stream: readOpenFile(file), close };
}

function bytesSource(bytes: Uint8Array, filename: string | undefined): Source {
  return {
    kind: 'bytes',
    label: filename ?? 'the input',
    path: undefined,
    open: async () => ({ bytes }),
  };
}

function streamSource(stream: ByteStream, filename: string | undefined): Source {
  let opened = false;
  return {
    kind: 'stream',
    label: filename === undefined ? 'the input stream' : `${filename} (stream)`,
    path: undefined,
    async open() {
      if (opened) {
        throw new ScanError(
          'io',
          `${this.label} was already read; a stream can be read once (scan it through a ScanManager to send it to several engines)`,
        );
      }
      opened = true;
      return { size: undefined, stream, close: NOTHING_TO_CLOSE };
    },
  };
}

/**
 * Races each chunk against the signal, so a stalled source cannot hold a read the caller
 * gave up on. One listener for the whole read, and nothing kept per chunk (a long-lived
 * promise raced per chunk would hold every chunk's reaction until the read ends).
 */
class AbortRace {
  private readonly signal: AbortSignal;
  private rejectPending: ((reason: unknown) => void) | undefined;
  private readonly onAbort = (): void => this.rejectPending?.(this.signal.reason);

  constructor(signal: AbortSignal) {
    this.signal = signal;
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  next<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
    this.signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.rejectPending = reject;
      iterator.next().then(resolve, reject);
    });
  }

  dispose(): void {
    this.rejectPending = undefined;
    this.signal.removeEventListener('abort', this.onAbort);
  }
}

function emptyInput(label: string): ScanError {
  return new ScanError('malformed_file', `${label} is empty (0 bytes): there is nothing to scan`);
}

export function tooLarge(label: string, maxBytes: number, size?: number): ScanError {
  const actual = size === undefined ? 'more than that' : `${size} bytes`;
  return new ScanError(
    'file_too_large',
    `${label} is too large: the limit is ${maxBytes} bytes and it has ${actual}`,
  );
}

function readFailure(
  error: unknown,
  label: string,
  bytesRead: number,
  signal?: AbortSignal,
): unknown {
  // Our own errors and the abort reason (a breaker needs to see its own timeout) pass as they are.
  if (error instanceof ScanError || (signal?.aborted === true && error === signal.reason)) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ScanError('io', `Reading ${label} failed after ${bytesRead} bytes: ${message}`, {
    cause: error,
  });
}
