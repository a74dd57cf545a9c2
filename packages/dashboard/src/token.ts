import { createHash, timingSafeEqual } from 'node:crypto';

// Visible ASCII only: anything else cannot travel in an HTTP header unchanged (parsers trim
// spaces, refuse control characters), so such a token could never match.
const HEADER_SAFE = /^[\x21-\x7e]+$/;
// Anyone who can reach the page may guess: a short token falls to a list of likely words.
export const MIN_TOKEN_LENGTH = 16;

/**
 * The controls' token, kept only as its SHA-256 digest in a private field: nothing that prints,
 * serializes or inspects the dashboard can show it, and comparing digests of equal length lets
 * timingSafeEqual run in the same time whatever the candidate is.
 */
export class Token {
  readonly #digest: Buffer;

  constructor(secret: string) {
    this.#digest = digest(secret);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(this.#digest, digest(candidate));
  }

  toJSON(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Token [redacted]';
  }
}

/** Checks a configured token; the message never repeats the value, which is a secret. */
export function toToken(owner: string, value: unknown): Token {
  if (typeof value !== 'string') {
    throw new TypeError(
      `${owner}: option "token" must be a string, got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (!HEADER_SAFE.test(value)) {
    throw new TypeError(
      `${owner}: option "token" must be a non-empty string of visible ASCII characters (no spaces), so it can be sent in a header`,
    );
  }
  if (value.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(
      `${owner}: option "token" must be at least ${MIN_TOKEN_LENGTH} characters: use a random one, e.g. \`openssl rand -base64 24\``,
    );
  }
  return new Token(value);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
