/** A timer handle as returned by {@link Clock.setTimeout}; opaque to the breaker. */
export type TimerHandle = unknown;

/**
 * Where a breaker gets the time. `now()` is epoch milliseconds. A clock may also
 * schedule timers, so that tests driving a {@link ManualClock} control timeouts too;
 * without them the breaker uses the global `setTimeout`.
 */
export interface Clock {
  now(): number;
  setTimeout?(callback: () => void, ms: number): TimerHandle;
  clearTimeout?(handle: TimerHandle): void;
}

export const systemClock: Clock = { now: Date.now };

/** The longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Starts a timer on `clock` that keeps the process alive until it fires or is stopped: a
 * call's time limit, which an operation waiting only on its signal depends on.
 * Delays past {@link MAX_TIMER_MS} are capped: the caller re-arms if its moment has not come.
 */
export function startTimer(clock: Clock, callback: () => void, ms: number): TimerHandle {
  if (clock.setTimeout !== undefined) return clock.setTimeout(callback, ms);
  return setTimeout(callback, Math.min(ms, MAX_TIMER_MS));
}

/**
 * A timer for what the breaker reports on its own (a state change on time): it never keeps
 * the process alive, since nobody is waiting on it.
 */
export function startBackgroundTimer(clock: Clock, callback: () => void, ms: number): TimerHandle {
  const handle = startTimer(clock, callback, ms);
  // Node returns a Timeout object; browsers, edge runtimes and ManualClock return a number.
  (handle as { unref?: () => void }).unref?.();
  return handle;
}

export function stopTimer(clock: Clock, handle: TimerHandle): void {
  if (clock.clearTimeout !== undefined) clock.clearTimeout(handle);
  else clearTimeout(handle as ReturnType<typeof setTimeout>);
}

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when told to: time in tests. Its timers fire during
 * {@link ManualClock.advance}, in due order, with `now()` set to each one's due time.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private nextId = 1;

  constructor(start = 0) {
    if (!Number.isFinite(start))
      throw new RangeError(`ManualClock start must be a finite number, got ${String(start)}`);
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`ManualClock.advance(ms) needs a finite ms >= 0, got ${String(ms)}`);
    }
    const target = this.current + ms;
    for (let next = this.nextDue(target); next !== undefined; next = this.nextDue(target)) {
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = next.at;
      next.callback();
    }
    this.current = target;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, at: this.current + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers scheduled and not yet fired or cleared: lets tests prove nothing outlives a call. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  private nextDue(target: number): ManualTimer | undefined {
    let due: ManualTimer | undefined;
    for (const t of this.timers) {
      if (
        t.at <= target &&
        (due === undefined || t.at < due.at || (t.at === due.at && t.id < due.id))
      )
        due = t;
    }
    return due;
  }
}
