import type { Clock } from '@breakwater/core';
import { ScanError } from './errors.js';
import { sleep } from './sleep.js';

/**
 * Runs `scan` with a signal that aborts after `ms` on `clock` (or when `parent` aborts). On
 * time out the scan rejects with a `timeout` ScanError at once, even if the engine ignores
 * its signal.
 */
export function withTimeout<R>(
  clock: Clock,
  ms: number | undefined,
  parent: AbortSignal | undefined,
  engine: string,
  scan: (signal: AbortSignal | undefined) => Promise<R>,
): Promise<R> {
  if (ms === undefined) return scan(parent);
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  if (parent?.aborted === true) onParentAbort();
  const done = new AbortController();
  const expired = sleep(clock, ms, done.signal).then(() => {
    const error = new ScanError('timeout', `${engine}: scan timed out after ${ms} ms`, { engine });
    controller.abort(error);
    throw error;
  });
  // Once the scan settles the timer is cancelled, and its rejection has nobody to tell.
  expired.catch(() => {});
  // Started in a then(), so even a scanner that throws synchronously gets the cleanup below.
  const scanning = Promise.resolve().then(() => scan(controller.signal));
  return Promise.race([scanning, expired]).finally(() => {
    done.abort();
    parent?.removeEventListener('abort', onParentAbort);
  });
}
