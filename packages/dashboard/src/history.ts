/** A breaker's history as the page reads it: per-interval counts, oldest first. */
export interface HistoryView {
  readonly calls: number[];
  readonly errors: number[];
}

/**
 * The last `length` intervals of one breaker's calls and errors: two fixed typed-array rings,
 * so a sample writes two numbers and allocates nothing.
 */
export class History {
  private readonly calls: Uint32Array;
  private readonly errors: Uint32Array;
  /** Where the next sample goes. */
  private next = 0;
  private filled = 0;

  constructor(length: number) {
    this.calls = new Uint32Array(length);
    this.errors = new Uint32Array(length);
  }

  push(calls: number, errors: number): void {
    this.calls[this.next] = calls;
    this.errors[this.next] = errors;
    this.next = (this.next + 1) % this.calls.length;
    if (this.filled < this.calls.length) this.filled++;
  }

  view(): HistoryView {
    return { calls: this.oldestFirst(this.calls), errors: this.oldestFirst(this.errors) };
  }

  private oldestFirst(ring: Uint32Array): number[] {
    const out = new Array<number>(this.filled);
    const start = (this.next - this.filled + ring.length) % ring.length;
    for (let i = 0; i < this.filled; i++) out[i] = ring[(start + i) % ring.length] as number;
    return out;
  }
}
