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

/** The metadata of bytes as they stream past: their digests, size and sniffed type. */
export class Meter {
  private readonly digest: Digest;
  /** The first bytes, gathered across chunks: an uploader chooses where chunks split. */
  private readonly head = new Uint8Array(HEAD_BYTES);
  private readonly filename: string | undefined;
  private size = 0;

  constructor(hashes: readonly ExtraHash[] | undefined, filename: string | undefined) {
    this.digest = new Digest(hashes);
    this.filename = filename;
  }

  update(chunk: Uint8Array): void {
    if (this.size < HEAD_BYTES) this.head.set(chunk.subarray(0, HEAD_BYTES - this.size), this.size);
    this.digest.update(chunk);
    this.size += chunk.byteLength;
  }

  /** Once, after the last chunk. */
  result(): FileMetadata {
    const { filename } = this;
    const mimeType = sniffMimeType(
      this.head.subarray(0, Math.min(this.size, HEAD_BYTES)),
      filename,
    );
    return {
      ...(filename === undefined ? {} : { filename }),
      ...(mimeType === undefined ? {} : { mimeType }),
      size: this.size,
      hash: this.digest.digest(),
    };
  }
}

/**
 * Reads an input while hashing it and sniffing its type, so an engine that streams the
 * file to a scanner reports real metadata without a second read. An input whose metadata is
 * already known (the scan manager's copy in memory), or that measures its own reads (the
 * manager's view of a large file), is not hashed again.
 */
export class MeteredRead {
  private readonly input: FileInput;
  private readonly options: MeterOptions;
  private readonly known: FileMetadata | undefined;
  private readonly measuredByInput: boolean;
  private size = 0;
  private result: FileMetadata | undefined;

  constructor(input: FileInput, options: MeterOptions = {}) {
    this.input = input;
    this.options = options;
    const known = input.knownMetadata;
    this.known = known !== undefined && covers(known, options.hashes) ? known : undefined;
    this.measuredByInput = this.known === undefined && input.measures(options.hashes);
  }

  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    const { known, measuredByInput } = this;
    const meter =
      known === undefined && !measuredByInput
        ? new Meter(this.options.hashes, this.input.filename)
        : undefined;
    let measured: FileMetadata | undefined;
    const chunks = measuredByInput
      ? this.input.chunks(this.options, (metadata) => {
          measured = metadata;
        })
      : this.input.chunks(this.options);
    for await (const chunk of chunks) {
      meter?.update(chunk);
      this.size += chunk.byteLength;
      yield chunk;
    }
    this.result = known ?? measured ?? meter?.result();
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
