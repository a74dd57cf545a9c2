import type { StateName } from '@breakwater/core';

/** How fast one breaker reacted to the faults aimed at it, in ms, one entry per fault. */
export interface ReactionTimes {
  /** From a fault's start to the breaker opening. */
  readonly toOpenMs: readonly number[];
  /** From the recovery's start to the breaker closing again. */
  readonly toCloseMs: readonly number[];
}

interface Watch {
  faultAt: number | undefined;
  openedInFault: boolean;
  recoveryAt: number | undefined;
  readonly toOpenMs: number[];
  readonly toCloseMs: number[];
}

/**
 * Measures each breaker against the script: the time from a fault's start to its first opening,
 * and from the recovery's start to the close that follows. A fault that never opened the breaker,
 * or a recovery the demo ended before the breaker closed, measures nothing.
 */
export class ReactionTimeline {
  readonly #watches = new Map<string, Watch>();

  #watch(breaker: string): Watch {
    let watch = this.#watches.get(breaker);
    if (watch === undefined) {
      watch = {
        faultAt: undefined,
        openedInFault: false,
        recoveryAt: undefined,
        toOpenMs: [],
        toCloseMs: [],
      };
      this.#watches.set(breaker, watch);
    }
    return watch;
  }

  faultStarted(breaker: string, atMs: number): void {
    const watch = this.#watch(breaker);
    watch.faultAt = atMs;
    watch.openedInFault = false;
    watch.recoveryAt = undefined;
  }

  recoveryStarted(breaker: string, atMs: number): void {
    const watch = this.#watch(breaker);
    watch.faultAt = undefined;
    watch.recoveryAt = watch.openedInFault ? atMs : undefined;
  }

  stateChanged(breaker: string, to: StateName, atMs: number): void {
    const watch = this.#watch(breaker);
    if (to === 'open' && watch.faultAt !== undefined && !watch.openedInFault) {
      watch.toOpenMs.push(atMs - watch.faultAt);
      watch.openedInFault = true;
    } else if (to === 'closed' && watch.recoveryAt !== undefined) {
      watch.toCloseMs.push(atMs - watch.recoveryAt);
      watch.recoveryAt = undefined;
    }
  }

  times(breaker: string): ReactionTimes {
    const watch = this.#watches.get(breaker);
    return { toOpenMs: [...(watch?.toOpenMs ?? [])], toCloseMs: [...(watch?.toCloseMs ?? [])] };
  }
}
