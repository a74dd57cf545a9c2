import { createHash, type Hash } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { FileHash } from './result.js';

/** Digests beyond sha256, which is always computed. */
export type ExtraHash = 'md5' | 'blake3';

export const EXTRA_HASHES: readonly ExtraHash[] = ['md5', 'blake3'];

/** Hashes a file as it streams past: nothing is buffered, every digest is real. */
export class Digest {
  private readonly sha256: Hash = createHash('sha256');
  private readonly md5: Hash | undefined;
  private readonly blake3: ReturnType<typeof blake3.create> | undefined;
  /** Bytes seen so far. */
  size = 0;

  constructor(extra: readonly ExtraHash[] = []) {
    this.md5 = extra.includes('md5') ? createHash('md5') : undefined;
    this.blake3 = extra.includes('blake3') ? blake3.create() : undefined;
  }

  update(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    this.sha256.update(chunk);
    this.md5?.update(chunk);
    this.blake3?.update(chunk);
  }

  digest(): FileHash {
    return {
      sha256: this.sha256.digest('hex'),
      ...(this.md5 === undefined ? {} : { md5: this.md5.digest('hex') }),
      ...(this.blake3 === undefined ? {} : { blake3: bytesToHex(this.blake3.digest()) }),
    };
  }
}
