// A line longer than this is let out without its end, so a child that never ends a line cannot
// hold its output back (or grow this buffer) forever.
const LONGEST_LINE = 8_192;
const MARK = '[redacted]';

/** `text` with every occurrence of `secret` replaced by `[redacted]`. */
export function redact(text: string, secret: string): string {
  return text.includes(secret) ? text.split(secret).join(MARK) : text;
}

/**
 * One output stream of the server process, with the preshared key cut out before anyone sees it.
 * It lets text out a line at a time, so a key split across two chunks is still caught whole.
 */
export class RedactedOutput {
  readonly #secret: string;
  #pending = '';

  constructor(secret: string) {
    this.#secret = secret;
  }

  /** The complete lines `chunk` finishes, redacted; '' while a line is still unfinished. */
  push(chunk: string): string {
    const text = this.#pending + chunk;
    const end = text.lastIndexOf('\n') + 1;
    if (end > 0) {
      this.#pending = text.slice(end);
      return redact(text.slice(0, end), this.#secret);
    }
    if (text.length <= LONGEST_LINE) {
      this.#pending = text;
      return '';
    }
    // Kept back: just enough to finish a key that starts at the very end.
    const redacted = redact(text, this.#secret);
    const keep = this.#secret.length - 1;
    this.#pending = redacted.slice(redacted.length - keep);
    return redacted.slice(0, redacted.length - keep);
  }

  /** Whatever is left of an unfinished line, redacted, and the buffer emptied. */
  flush(): string {
    const rest = redact(this.#pending, this.#secret);
    this.#pending = '';
    return rest;
  }
}
