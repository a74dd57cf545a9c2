/**
 * The recent calls a rate rule looks at: how many, how many failed, how many were slow.
 * Counts are kept pre-aggregated and updated on every record and eviction, so a call
 * costs O(1) however large the window.
 */
export interface CallWindow {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Forgets what is older than the window as of `now` (a no-op for a count window). */
  advance(now: number): void;
  record(failed: boolean, slow: boolean, now: number): void;
  clear(): void;
}

/** The last `size` calls. Each slot holds one call's outcome: bit 0 failed, bit 1 slow. */
export class CountWindow implements CallWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  private readonly slots: Uint8Array;
  private next = 0;

  constructor(size: number) {
    this.slots = new Uint8Array(size);
  }

  advance(): void {}

  record(failed: boolean, slow: boolean): void {
    if (this.calls === this.slots.length) {
      const evicted = this.slots[this.next] as number;
      this.failures -= evicted & 1;
      this.slowCalls -= evicted >> 1;
    } else {
      this.calls++;
    }
    this.slots[this.next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    if (failed) this.failures++;
    if (slow) this.slowCalls++;
    this.next = this.next + 1 === this.slots.length ? 0 : this.next + 1;
  }

  clear(): void {
    this.calls = this.failures = this.slowCalls = this.next = 0;
  }
}

/**
 * The calls of the last `duration` ms, in `buckets` buckets of `duration / buckets` ms.
 * Moving to a later bucket empties every bucket passed over, so a window idle for longer
 * than its duration is empty, not full of stale failures.
 */
export class TimeWindow implements CallWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  private readonly bucketMs: number;
  private readonly bucketCalls: Float64Array;
  private readonly bucketFailures: Float64Array;
  private readonly bucketSlow: Float64Array;
  /** The index (time / bucketMs) of the newest bucket. */
  private head = Number.NEGATIVE_INFINITY;

  constructor(duration: number, buckets: number) {
    this.bucketMs = duration / buckets;
    this.bucketCalls = new Float64Array(buckets);
    this.bucketFailures = new Float64Array(buckets);
    this.bucketSlow = new Float64Array(buckets);
  }

  advance(now: number): void {
    const index = Math.floor(now / this.bucketMs);
    // A clock that steps back keeps counting into the newest bucket.
    if (index <= this.head) return;
    const buckets = this.bucketCalls.length;
    if (index - this.head >= buckets) {
      this.clear();
    } else {
      for (let i = this.head + 1; i <= index; i++) this.evict(i % buckets);
    }
    this.head = index;
  }

  record(failed: boolean, slow: boolean, now: number): void {
    this.advance(now);
    const slot = this.head % this.bucketCalls.length;
    this.calls++;
    bump(this.bucketCalls, slot);
    if (failed) {
      this.failures++;
      bump(this.bucketFailures, slot);
    }
    if (slow) {
      this.slowCalls++;
      bump(this.bucketSlow, slot);
    }
  }

  clear(): void {
    this.calls = this.failures = this.slowCalls = 0;
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
  }

  private evict(slot: number): void {
    this.calls -= this.bucketCalls[slot] as number;
    this.failures -= this.bucketFailures[slot] as number;
    this.slowCalls -= this.bucketSlow[slot] as number;
    this.bucketCalls[slot] = this.bucketFailures[slot] = this.bucketSlow[slot] = 0;
  }
}

function bump(counts: Float64Array, slot: number): void {
  counts[slot] = (counts[slot] as number) + 1;
}
