import { type Clock, systemClock, type TimerHandle } from '@breakwater/core';
import { UploadError } from './upload-error.js';

export interface BodyTimeouts {
  /** From the first read to the body's last byte, scans of earlier files included. */
  readonly bodyTimeoutMs: number;
  /** The longest the client may send nothing while the gateway waits for its bytes. */
  readonly idleTimeoutMs: number;
}

/**
 * The two clocks a request body runs against. The whole-body limit runs from construction
 * until {@link BodyDeadline.finished}; the idle limit runs only while something waits for the
 * client ({@link BodyDeadline.wait}), so a client whose bytes sit in a buffer while an earlier
 * file is scanned is not idle. One at 1 byte a second is never idle, and the whole-body limit
 * ends it. Either limit, once passed, rejects the wait in progress and every later one.
 */
export class BodyDeadline {
  private readonly timeouts: BodyTimeouts;
  private readonly clock: Clock;
  private readonly onExpired: (error: UploadError) => void;
  private bodyTimer: TimerHandle | undefined;
  private expiredWith: UploadError | undefined;
  private pending:
    | { readonly reject: (error: UploadError) => void; readonly idle: TimerHandle }
    | undefined;

  constructor(
    timeouts: BodyTimeouts,
    onExpired: (error: UploadError) => void,
    clock: Clock = systemClock,
  ) {
    this.timeouts = timeouts;
    this.clock = clock;
    this.onExpired = onExpired;
    const ms = timeouts.bodyTimeoutMs;
    this.bodyTimer = start(clock, () => this.expire(bodyTimeout(ms)), ms);
  }

  /** Why the body ran out of time, once it has. */
  get expired(): UploadError | undefined {
    return this.expiredWith;
  }

  /** Every byte of the body is in: what is left is scanning, which has limits of its own. */
  finished(): void {
    if (this.bodyTimer === undefined) return;
    stop(this.clock, this.bodyTimer);
    this.bodyTimer = undefined;
  }

  /** Awaits something only the client can bring (its next bytes, the next form part). */
  wait<T>(next: Promise<T>): Promise<T> {
    if (this.expiredWith !== undefined) {
      next.catch(() => {
        // The client's late answer (or failure) is nobody's business any more.
      });
      return Promise.reject(this.expiredWith);
    }
    const ms = this.timeouts.idleTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const idle = start(this.clock, () => this.expire(idleTimeout(ms)), ms);
      this.pending = { reject, idle };
      next.then(
        (value) => {
          this.settle();
          resolve(value);
        },
        (error: unknown) => {
          this.settle();
          reject(error);
        },
      );
    });
  }

  /** Stops the clocks; the request is over. */
  dispose(): void {
    this.finished();
    this.settle();
  }

  private expire(error: UploadError): void {
    if (this.expiredWith !== undefined) return;
    this.expiredWith = error;
    this.finished();
    const pending = this.pending;
    this.settle();
    pending?.reject(error);
    this.onExpired(error);
  }

  private settle(): void {
    if (this.pending === undefined) return;
    stop(this.clock, this.pending.idle);
    this.pending = undefined;
  }
}

function bodyTimeout(ms: number): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_TIMEOUT',
    `The request body did not finish within ${ms} ms (limits.bodyTimeoutMs): send it faster, or split it into smaller uploads`,
  );
}

function idleTimeout(ms: number): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_IDLE',
    `The client sent nothing for ${ms} ms (limits.idleTimeoutMs) while the gateway waited for the rest of the body`,
  );
}

// Request timers are unref'd: an open connection keeps the process alive, a timer need not.
function start(clock: Clock, callback: () => void, ms: number): TimerHandle {
  const handle = clock.setTimeout?.(callback, ms) ?? setTimeout(callback, ms);
  (handle as { unref?: () => void }).unref?.();
  return handle;
}

function stop(clock: Clock, handle: TimerHandle): void {
  if (clock.clearTimeout !== undefined) clock.clearTimeout(handle);
  else clearTimeout(handle as ReturnType<typeof setTimeout>);
}
