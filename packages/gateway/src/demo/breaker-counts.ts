import type { BreakerRegistry } from '@breakwater/core';

/** One breaker's numbers for the summary. */
export interface BreakerCount {
  /** Calls it saw: finished (success, failure, ignored error) and rejected, as core's `totalRequests`. */
  calls: number;
  rejections: number;
  openings: number;
}

/**
 * Every breaker's calls, rejections and openings: its metrics when this is made, then the
 * registry's events: a breaker's own metrics start again at zero when someone resets it from
 * the dashboard, and the summary is about the whole run.
 */
export class BreakerCounts {
  readonly #counts = new Map<string, BreakerCount>();
  readonly #unsubscribe: readonly (() => void)[];

  constructor(registry: BreakerRegistry) {
    // What the breakers saw before (the gateway's start) counts too.
    registry.forEach((breaker, name) => {
      const { totalRequests, rejectedRequests, timesOpened } = breaker.metrics();
      this.#counts.set(name, {
        calls: totalRequests,
        rejections: rejectedRequests,
        openings: timesOpened,
      });
    });
    const call = ({ breaker }: { breaker: string }): void => {
      this.#of(breaker).calls++;
    };
    this.#unsubscribe = [
      registry.on('success', call),
      registry.on('failure', call),
      registry.on('ignored', call),
      registry.on('rejected', ({ breaker }) => {
        const count = this.#of(breaker);
        count.calls++;
        count.rejections++;
      }),
      registry.on('open', ({ breaker }) => {
        this.#of(breaker).openings++;
      }),
    ];
  }

  /** What `breaker` has seen so far (zeros for one that has seen nothing). */
  of(breaker: string): BreakerCount {
    return { ...(this.#counts.get(breaker) ?? { calls: 0, rejections: 0, openings: 0 }) };
  }

  /** Stops counting. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  #of(breaker: string): BreakerCount {
    let count = this.#counts.get(breaker);
    if (count === undefined) {
      count = { calls: 0, rejections: 0, openings: 0 };
      this.#counts.set(breaker, count);
    }
    return count;
  }
}
