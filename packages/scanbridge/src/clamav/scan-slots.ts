/** A scan waiting for a slot: resumed when one is free, or dropped at once when it gives up. */
interface Waiter {
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly onAbort: () => void;
}

/**
 * At most `size` scans under way at once. Every scan opens its file as soon as it starts, and
 * one on a connection of its own holds a socket too; without a bound, a caller that starts a
 * few thousand scans at once runs the process out of file descriptors (EMFILE), for files and
 * clamd connections alike. A scan waiting here holds nothing open.
 */
export class ScanSlots {
  private free: number;
  private readonly waiters: Waiter[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Undefined when a slot was free and is now the caller's; else a wait for one. */
  take(signal: AbortSignal): Promise<void> | undefined {
    if (this.free > 0 && this.waiters.length === 0) {
      this.free--;
      return undefined;
    }
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        resolve,
        reject,
        onAbort: () => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Gives a slot back, to the longest waiting scan if there is one. */
  give(): void {
    const next = this.waiters.shift();
    if (next === undefined) {
      this.free++;
      return;
    }
    next.signal.removeEventListener('abort', next.onAbort);
    next.resolve();
  }
}
