import type { Clock } from '@breakwater/core';
import { ScanError } from './errors.js';

/** What a limit that ran out says, given its length in ms. */
export type OnTimeout = (ms: number) => ScanError;

/** The timeout of one engine's scan. */
export function engineTimeout(engine: string): OnTimeout {
  return (ms) => new ScanError('timeout', `${engine}: scan timed out after ${ms} ms`, { engine });
}

/**
 * Runs `work` with a signal that aborts after `ms` on `clock` (or when `parent` aborts). On
 * time out the work rejects with `timedOut(ms)` at once, and when `parent` aborts with its
 * reason at once, even if the work ignores its signal (an open() cannot be aborted). The
 * timer keeps the process alive like any awaited work would.
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
  let expire: (reason: unknown) => void = () => {};
  const expired = new Promise<never>((_, reject) => {
    expire = reject;
  });
  const onParentAbort = (): void => {
    controller.abort(parent?.reason);
    expire(parent?.reason);
  };
  parent?.addEventListener('abort', onParentAbort, { once: true });
  if (parent?.aborted === true) onParentAbort();
  const onTimer = (): void => {
    const error = timedOut(ms);
    controller.abort(error);
    expire(error);
  };
  // Started in a then(), so even work that throws synchronously gets the cleanup below.
  const working = Promise.resolve().then(() => work(controller.signal));
  const stopTimer = startTimer(clock, onTimer, ms);
  return Promise.race([working, expired]).finally(() => {
    stopTimer();
    parent?.removeEventListener('abort', onParentAbort);
  });
}

/** A timer on `clock` (a ManualClock in tests), else the system's; returns how to stop it. */
function startTimer(clock: Clock, callback: () => void, ms: number): () => void {
  const { setTimeout: set, clearTimeout: clear } = clock;
  if (set !== undefined && clear !== undefined) {
    const handle = set.call(clock, callback, ms);
    return () => clear.call(clock, handle);
  }
  const handle = setTimeout(callback, ms);
  return () => clearTimeout(handle);
}
