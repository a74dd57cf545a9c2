import { hashToken } from '../config/tokens.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

// More than any token a person would use: stdin that goes on is not a token.
const MAX_BYTES = 64 * 1024;
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * `hash-token`: the token from stdin (never argv, where `ps` and shell history would show it),
 * one trailing line break dropped, its sha256 printed as hex.
 */
export async function hashTokenCommand(io: CliIo): Promise<number> {
  if (io.stdin.isTTY === true) {
    io.stderr.write('Type or paste the token, then press Enter and Ctrl-D:\n');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > MAX_BYTES)
      throw new UsageError(
        `hash-token: stdin holds more than ${MAX_BYTES} bytes; that is no token`,
      );
    chunks.push(bytes);
  }
  const token = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (token.length === 0) {
    throw new UsageError(
      'hash-token: no token on stdin (try: printf %s "$TOKEN" | breakwater-gateway hash-token)',
    );
  }
  if (!HEADER_SAFE.test(token)) {
    // Not quoted: it is a secret.
    throw new UsageError(
      'hash-token: the token holds a space, a line break, a control or a non-ASCII character, so it could not be sent in an Authorization header',
    );
  }
  io.stdout.write(`${hashToken(token)}\n`);
  return EXIT.ok;
}
