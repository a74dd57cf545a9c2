import type { BreakerEvents, BreakerRegistry } from '@breakwater/core';
import type { BreakerEntry } from './payloads.js';

type StateChange = BreakerEvents['stateChange'];

// How long changes of unsampled breakers wait: they share one walk, and walks stay rare (at
// 100,000 breakers one is about 15 ms) however many new breakers trip, one after another.
export const LATE_STATE_DELAY_MS = 100;
// A storm of new breakers tripping: past this the rest wait for the next sample's `added`.
const MAX_LATE_STATES = 10_000;

/**
 * State changes of breakers the last sample did not see (made or replaced since): their
 * criticality is known only to a walk of the registry, which must not run inside the breaker's
 * transition. They are queued and told together a moment later, in order, after one walk.
 */
export class LateStates {
  private readonly queue: StateChange[] = [];
  private readonly names = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly registry: BreakerRegistry,
    private readonly tell: (change: StateChange, entry: BreakerEntry) => void,
  ) {}

  /** Whether changes of `name` wait here: a later one must queue behind them. */
  holds(name: string): boolean {
    return this.names.has(name);
  }

  add(change: StateChange): void {
    if (this.queue.length >= MAX_LATE_STATES) return;
    this.queue.push(change);
    this.names.add(change.breaker);
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), LATE_STATE_DELAY_MS);
    this.timer.unref();
  }

  /** Tells every queued change of a breaker still registered. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const found = new Map<string, BreakerEntry>();
    this.registry.forEach((breaker, name, criticality) => {
      if (this.names.has(name)) found.set(name, { breaker, criticality });
    });
    const queue = this.queue.splice(0);
    this.names.clear();
    for (const change of queue) {
      const entry = found.get(change.breaker);
      if (entry !== undefined) this.tell(change, entry);
    }
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.names.clear();
  }
}
