import { commandBytes } from './clamd-wire.js';

const INSTREAM = commandBytes('INSTREAM');
const FRAME_HEADER_BYTES = 4;

/**
 * A small input held in memory as the bytes of its whole INSTREAM request (`zINSTREAM\0`, each
 * piece after its 4-byte length, the zero-length end): one buffer, filled once from the chunks
 * it was read in, however small they were, and written in one go. Its pieces can be sent
 * again on a connection of their own.
 */
export class InstreamBody {
  /** The request as it goes on the wire. */
  readonly wire: Buffer;

  constructor(chunks: readonly Uint8Array[], size: number, chunkSize: number) {
    const frames = Math.ceil(size / chunkSize);
    this.wire = Buffer.allocUnsafe(INSTREAM.byteLength + size + (frames + 1) * FRAME_HEADER_BYTES);
    let at = INSTREAM.copy(this.wire, 0);
    let room = 0;
    let left = size;
    for (const chunk of chunks) {
      for (let offset = 0; offset < chunk.byteLength; ) {
        if (room === 0) {
          room = Math.min(chunkSize, left);
          left -= room;
          at = this.wire.writeUInt32BE(room, at);
        }
        const take = Math.min(room, chunk.byteLength - offset);
        this.wire.set(chunk.subarray(offset, offset + take), at);
        at += take;
        offset += take;
        room -= take;
      }
    }
    this.wire.writeUInt32BE(0, at);
  }

  /** The input's bytes again, piece by piece (views of {@link wire}, nothing copied). */
  *pieces(): Generator<Uint8Array, void, undefined> {
    let at = INSTREAM.byteLength;
    for (;;) {
      const length = this.wire.readUInt32BE(at);
      if (length === 0) return;
      at += FRAME_HEADER_BYTES;
      yield this.wire.subarray(at, at + length);
      at += length;
    }
  }
}
