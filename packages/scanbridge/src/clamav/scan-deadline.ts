import { untilAborted } from '@breakwater/core';
import { ScanError } from '../errors.js';

/**
 * One scan's time limit and the caller's abort, as one signal whose reason is always a
 * ScanError (`timeout`, saying what the scan was doing: its {@link ScanDeadline.phase}, or
 * `cancelled` with the caller's reason as cause). `race` makes any step give up at once when
 * it fires, while the step itself cleans up in its own time.
 */
export class ScanDeadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly endsAt: number;
  private readonly timer: NodeJS.Timeout;
  private readonly parent: AbortSignal | undefined;
  private readonly engine: string;
  /**
   * What the scan is doing now, as the end of "timed out after N ms ...": `reading the input`,
   * `waiting for clamd's verdict`. Set by each step; a constant string, so nothing is built
   * unless the time runs out.
   */
  phase: string;

  constructor(engine: string, ms: number, phase: string, parent?: AbortSignal) {
    this.engine = engine;
    this.phase = phase;
    this.signal = this.controller.signal;
    this.endsAt = Date.now() + ms;
    this.parent = parent;
    // Not unref'd: a scan under way keeps the process alive until it is answered or times out.
    this.timer = setTimeout(
      () =>
        this.controller.abort(
          new ScanError('timeout', `${engine}: timed out after ${ms} ms ${this.phase}`, {
            engine,
          }),
        ),
      ms,
    );
    if (parent?.aborted === true) this.cancel();
    else parent?.addEventListener('abort', this, { once: true });
  }

  /** The parent signal's abort, heard without a closure. */
  handleEvent(): void {
    this.cancel();
  }

  /** Milliseconds left, at least 1. */
  remaining(): number {
    return Math.max(1, this.endsAt - Date.now());
  }

  /** `work`, or this deadline's reason as soon as it fires. */
  race<T>(work: Promise<T>): Promise<T> {
    return untilAborted(work, this.signal);
  }

  /** Stops the timer and stops listening to the caller. */
  clear(): void {
    clearTimeout(this.timer);
    this.parent?.removeEventListener('abort', this);
  }

  private cancel(): void {
    const reason: unknown = this.parent?.reason;
    this.controller.abort(
      reason instanceof ScanError
        ? reason
        : new ScanError('cancelled', `${this.engine}: the scan was cancelled`, {
            engine: this.engine,
            cause: reason,
          }),
    );
  }
}
