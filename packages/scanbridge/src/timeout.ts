import type { Clock } from '@breakwater/core';
import { ScanError } from './errors.js';
import { sleep } from './sleep.js';

/** What a limit that ran out says, given its length in ms. */
export type OnTimeout = (ms: number) => ScanError;

// Cancels the timer once the work settles; one reason for all, so settling allocates no error.
const SETTLED = Object.freeze(new Error('settled before its time limit'));

/** The timeout of one engine's scan. */
export function engineTimeout(engine: string): OnTimeout {
  return (ms) => new ScanError('timeout', `${engine}: scan timed out after ${ms} ms`, { engine });
}

/**
 * Runs `work` with a signal that aborts after `ms` on `clock` (or when `parent` aborts). On
 * time out the work rejects with `timedOut(ms)` at once, even if it ignores its signal.
 */
export function withTimeout<R>(
  clock: Clock,
  ms: number | undefined,
  parent: AbortSignal | undefined,
  timedOut: OnTimeout,
  work: (signal: AbortSignal | undefined) => Promise<R>,
): Promise<R> {
  if (ms === undefined) return work(parent);
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  if (parent?.aborted === true) onParentAbort();
  const done = new AbortController();
  const expired = sleep(clock, ms, done.signal).then(() => {
    const error = timedOut(ms);
    controller.abort(error);
    throw error;
  });
  // Once the work settles the timer is cancelled, and its rejection has nobody to tell.
  expired.catch(() => {});
  // Started in a then(), so even work that throws synchronously gets the cleanup below.
  const working = Promise.resolve().then(() => work(controller.signal));
  return Promise.race([working, expired]).finally(() => {
    done.abort(SETTLED);
    parent?.removeEventListener('abort', onParentAbort);
  });
}
