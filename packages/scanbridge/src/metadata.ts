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
 * file to a scanner reports real metadata without a second read.
 */
export class MeteredRead {
  private readonly input: FileInput;
  private readonly options: MeterOptions;
  private readonly digest: Digest;
  /** The first bytes, gathered across chunks: an uploader chooses where chunks split. */
  private readonly head = new Uint8Array(HEAD_BYTES);
  private finished = false;

  constructor(input: FileInput, options: MeterOptions = {}) {
    this.input = input;
    this.options = options;
    this.digest = new Digest(options.hashes);
  }

  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const chunk of this.input.chunks(this.options)) {
      if (this.digest.size < HEAD_BYTES)
        this.head.set(chunk.subarray(0, HEAD_BYTES - this.digest.size), this.digest.size);
      this.digest.update(chunk);
      yield chunk;
    }
    this.finished = true;
  }

  /** Bytes read so far. */
  get bytesRead(): number {
    return this.digest.size;
  }

  /** Only once every chunk was read: metadata of half a file would lie. */
  metadata(): FileMetadata {
    if (!this.finished)
      throw new Error('MeteredRead.metadata() called before the input was fully read');
    const { filename } = this.input;
    const mimeType = sniffMimeType(
      this.head.subarray(0, Math.min(this.digest.size, HEAD_BYTES)),
      filename,
    );
    return {
      ...(filename === undefined ? {} : { filename }),
      ...(mimeType === undefined ? {} : { mimeType }),
      size: this.digest.size,
      hash: this.digest.digest(),
    };
  }
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
