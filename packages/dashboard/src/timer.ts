import type { Clock } from '@breakwater/core';

/**
 * Runs `task` every `ms` on `clock` (a ManualClock in tests) until the returned function is
 * called. The timer is unref'd: a dashboard never keeps a process alive.
 */
export function every(clock: Clock, ms: number, task: () => void): () => void {
  let handle: unknown;
  let running = true;
  const arm = (): void => {
    handle = clock.setTimeout !== undefined ? clock.setTimeout(fire, ms) : setTimeout(fire, ms);
    // Node returns a Timeout object; a ManualClock returns a number.
    (handle as { unref?: () => void }).unref?.();
  };
  const fire = (): void => {
    if (!running) return;
    arm();
    task();
  };
  arm();
  return () => {
    running = false;
    if (clock.clearTimeout !== undefined) clock.clearTimeout(handle);
    else clearTimeout(handle as ReturnType<typeof setTimeout>);
  };
}
