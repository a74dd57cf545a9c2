import type { Clock } from '@breakwater/core';

/**
 * Waits `ms` on `clock` (a ManualClock in tests); an abort ends the wait at once with the
 * signal's reason. The timer keeps the process alive like any awaited work would.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = (): void => {
      cancel();
      reject(signal?.reason);
    };
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    let cancel: () => void;
    if (clock.setTimeout !== undefined && clock.clearTimeout !== undefined) {
      const handle = clock.setTimeout(done, ms);
      cancel = () => clock.clearTimeout?.(handle);
    } else {
      const handle = setTimeout(done, ms);
      cancel = () => clearTimeout(handle);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
