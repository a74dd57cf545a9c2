import { Digest, type ExtraHash } from './hashing.js';
import type { FileInput, ReadOptions } from './input.js';
import { sniffMimeType } from './mime.js';
import type { FileMetadata } from './result.js';

// Longer than every signature sniffMimeType knows.
const HEAD_BYTES = 16;

export interface MeterOptions extends ReadOptions {
  /** Digests to compute besides sha256. */
  hashes?: readonly ExtraHash[] | undefined;
}

/**
 * Reads an input while hashing it and sniffing its type, so an engine that streams the
 * file to a scanner reports real metadata without a second read. An input whose metadata is
 * already known (the scan manager's copy in memory) is not hashed again.
 */
export class MeteredRead {
  private readonly input: FileInput;
  private readonly options: MeterOptions;
  /** What the input already knows, or the digest and head this read gathers. */
  private readonly meter: Meter | { readonly known: FileMetadata };
  private size = 0;
  private result: FileMetadata | undefined;

  constructor(input: FileInput, options: MeterOptions = {}) {
    this.input = input;
    this.options = options;
    const known = input.knownMetadata;
    this.meter =
      known !== undefined && covers(known, options.hashes)
        ? { known }
        : { digest: new Digest(options.hashes), head: new Uint8Array(HEAD_BYTES) };
  }

  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    const { meter } = this;
    const measuring = 'digest' in meter;
    for await (const chunk of this.input.chunks(this.options)) {
      if (measuring) {
        if (this.size < HEAD_BYTES)
          meter.head.set(chunk.subarray(0, HEAD_BYTES - this.size), this.size);
        meter.digest.update(chunk);
      }
      this.size += chunk.byteLength;
      yield chunk;
    }
    this.result = 'known' in meter ? meter.known : this.measured(meter);
    this.input.readFinished(this.result);
  }

  /** Bytes read so far. */
  get bytesRead(): number {
    return this.size;
  }

  /** Only once every chunk was read: metadata of half a file would lie. */
  metadata(): FileMetadata {
    if (this.result === undefined)
      throw new Error('MeteredRead.metadata() called before the input was fully read');
    return this.result;
  }

  private measured(meter: Meter): FileMetadata {
    const { filename } = this.input;
    const mimeType = sniffMimeType(
      meter.head.subarray(0, Math.min(this.size, HEAD_BYTES)),
      filename,
    );
    return {
      ...(filename === undefined ? {} : { filename }),
      ...(mimeType === undefined ? {} : { mimeType }),
      size: this.size,
      hash: meter.digest.digest(),
    };
  }
}

interface Meter {
  readonly digest: Digest;
  /** The first bytes, gathered across chunks: an uploader chooses where chunks split. */
  readonly head: Uint8Array;
}

/** Whether `known` has every digest a reader asks for. */
function covers(known: FileMetadata, hashes: readonly ExtraHash[] | undefined): boolean {
  return hashes === undefined || hashes.every((name) => known.hash[name] !== undefined);
}

/** Reads the whole input for its metadata alone. */
export async function readMetadata(
  input: FileInput,
  options: MeterOptions = {},
): Promise<FileMetadata> {
  const read = new MeteredRead(input, options);
  for await (const _ of read.chunks()) {
    // Each chunk only feeds the digest.
  }
  return read.metadata();
}
