/** clamd's longest honest reply is a threat name or a version line; this leaves room to spare. */
export const MAX_REPLY_BYTES = 4 * 1024;

const NUL = 0;

/**
 * Splits what clamd sends into its NUL-terminated replies. Each packet is scanned once and only
 * the unfinished tail of a reply is kept, in one buffer of at most `maxBytes`: a server that
 * streams without a NUL costs that much memory and no more, and nothing is copied twice.
 */
export class ClamdReplySplitter {
  readonly maxBytes: number;
  /** Hears each reply, without its NUL. */
  private readonly onReply: (reply: string) => void;
  private readonly partial: Buffer;
  private length = 0;
  private overflowed = false;

  constructor(onReply: (reply: string) => void, maxBytes: number = MAX_REPLY_BYTES) {
    this.onReply = onReply;
    this.maxBytes = maxBytes;
    this.partial = Buffer.allocUnsafe(maxBytes);
  }

  /** False once a reply ran past `maxBytes` without its NUL: nothing after it can be trusted. */
  push(packet: Buffer): boolean {
    if (this.overflowed) return false;
    let start = 0;
    while (start < packet.byteLength) {
      const end = packet.indexOf(NUL, start);
      const stop = end === -1 ? packet.byteLength : end;
      if (this.length + stop - start > this.maxBytes) {
        this.overflowed = true;
        return false;
      }
      if (end === -1) {
        packet.copy(this.partial, this.length, start);
        this.length += packet.byteLength - start;
        return true;
      }
      let reply: string;
      if (this.length === 0) {
        reply = packet.toString('utf8', start, end);
      } else {
        packet.copy(this.partial, this.length, start, end);
        reply = this.partial.toString('utf8', 0, this.length + end - start);
        this.length = 0;
      }
      start = end + 1;
      this.onReply(reply);
    }
    return true;
  }

  /** Bytes of a reply begun and not yet finished. */
  get pending(): number {
    return this.length;
  }
}
