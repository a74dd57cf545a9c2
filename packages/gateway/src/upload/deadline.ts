import { type Clock, systemClock, type TimerHandle } from '@breakwater/core';
import { UploadError } from './upload-error.js';

export interface BodyTimeouts {
  /** Time spent waiting for the client's bytes, added up over the whole body. */
  readonly bodyTimeoutMs: number;
  /** The longest the client may send nothing while the gateway waits for its bytes. */
  readonly idleTimeoutMs: number;
}

interface Pending {
  readonly reject: (error: UploadError) => void;
  readonly since: number;
  idle: TimerHandle;
  body: TimerHandle | undefined;
}

/**
 * The two clocks a request body runs against, both running only while something waits for the
 * client ({@link BodyDeadline.wait}): the time the gateway spends scanning an earlier file (the
 * client's later bytes held in buffers meanwhile) is the gateway's, not the client's. The
 * whole-body limit adds up the time waited until {@link BodyDeadline.finished}; the idle limit
 * restarts with every chunk that arrives ({@link BodyDeadline.received}), so a client sending
 * steadily is never idle, however long a whole part takes to come. One at 1 byte a second is
 * never idle, and the whole-body limit ends it. Either limit, once passed, rejects the wait in
 * progress and every later one.
 */
export class BodyDeadline {
  private readonly timeouts: BodyTimeouts;
  private readonly clock: Clock;
  private readonly onExpired: (error: UploadError) => void;
  private waitedMs = 0;
  private bodyIn = false;
  private expiredWith: UploadError | undefined;
  private pending: Pending | undefined;

  constructor(
    timeouts: BodyTimeouts,
    onExpired: (error: UploadError) => void,
    clock: Clock = systemClock,
  ) {
    this.timeouts = timeouts;
    this.clock = clock;
    this.onExpired = onExpired;
  }

  /** Why the body ran out of time, once it has. */
  get expired(): UploadError | undefined {
    return this.expiredWith;
  }

  /** Every byte of the body is in: what is left is scanning, which has limits of its own. */
  finished(): void {
    if (this.bodyIn) return;
    this.bodyIn = true;
    const pending = this.pending;
    if (pending?.body !== undefined) {
      stop(this.clock, pending.body);
      pending.body = undefined;
    }
  }

  /** Awaits something only the client can bring (its next bytes, the next form part). */
  wait<T>(next: Promise<T>): Promise<T> {
    if (this.expiredWith !== undefined) {
      next.catch(() => {
        // The client's late answer (or failure) is nobody's business any more.
      });
      return Promise.reject(this.expiredWith);
    }
    return new Promise<T>((resolve, reject) => {
      const left = this.timeouts.bodyTimeoutMs - this.waitedMs;
      this.pending = {
        reject,
        since: this.clock.now(),
        idle: this.idleTimer(),
        body: this.bodyIn
          ? undefined
          : start(this.clock, () => this.expire(this.bodyTimeout()), left),
      };
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

  /** Bytes of the body arrived (a chunk off the connection): the client is not idle. */
  received(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    stop(this.clock, pending.idle);
    pending.idle = this.idleTimer();
  }

  /** Stops the clocks; the request is over. */
  dispose(): void {
    this.finished();
    this.settle();
  }

  private idleTimer(): TimerHandle {
    const ms = this.timeouts.idleTimeoutMs;
    return start(this.clock, () => this.expire(idleTimeout(ms)), ms);
  }

  private bodyTimeout(): UploadError {
    return bodyTimeout(this.timeouts.bodyTimeoutMs);
  }

  private expire(error: UploadError): void {
    if (this.expiredWith !== undefined) return;
    this.expiredWith = error;
    const pending = this.pending;
    this.settle();
    this.finished();
    pending?.reject(error);
    this.onExpired(error);
  }

  private settle(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    stop(this.clock, pending.idle);
    if (pending.body !== undefined) {
      stop(this.clock, pending.body);
      this.waitedMs += this.clock.now() - pending.since;
    }
  }
}

function bodyTimeout(ms: number): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_TIMEOUT',
    `The request body did not finish within ${ms} ms of waiting for the client (limits.bodyTimeoutMs, the gateway's scans not counted): send it faster, or split it into smaller uploads`,
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
