import type { BreakerRegistry } from '@breakwater/core';
import { OTHER } from './breaker-walk.js';
import { HistogramFamily, type HistogramSeries } from './histogram.js';

const OUTCOMES = ['success', 'failure', 'ignored'] as const;
type Slots = (HistogramSeries | undefined)[];

/**
 * `durations: true`: every call's duration, from the registry's `success`, `failure` and
 * `ignored` events. Listening to them takes every breaker off its fast path (each call needs its
 * start time); `close()` unsubscribes, and breakers with no other listener go back to it.
 *
 * A breaker gets series of its own when the registry holds no more than `maxBreakers` breakers
 * or the last scrape counted it among the first `maxBreakers`; otherwise its calls go to
 * `breaker="_other"`. Series of breakers that left the registry are dropped at the next scrape.
 */
export class CallDurations {
  readonly family: HistogramFamily;
  /** Breakers with series of their own, by name. */
  private readonly own = new Map<string, Slots>();
  private readonly other: Slots = [undefined, undefined, undefined];
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly registry: Pick<BreakerRegistry, 'on' | 'has' | 'size'>,
    name: string,
    buckets: readonly number[],
    private readonly maxBreakers: number,
    /** The names the last scrape gave series of their own (kept up to date by the walk). */
    private readonly named: ReadonlySet<string>,
    /** Runs this scrape's walk, which refreshes `named`. */
    scrape: () => void,
  ) {
    this.family = new HistogramFamily(
      name,
      'Duration of calls through the breaker, in seconds, by outcome (success, failure, ignored); calls refused by an open breaker are not timed',
      buckets,
      () => {
        scrape();
        this.prune();
      },
    );
    this.unsubscribe = [
      registry.on('success', ({ breaker, durationMs }) => this.record(breaker, 0, durationMs)),
      registry.on('failure', ({ breaker, durationMs }) => this.record(breaker, 1, durationMs)),
      registry.on('ignored', ({ breaker, durationMs }) => this.record(breaker, 2, durationMs)),
    ];
  }

  close(): void {
    for (const off of this.unsubscribe) off();
  }

  private record(breaker: string, outcome: 0 | 1 | 2, durationMs: number | undefined): void {
    // A call that began before the listener has no start time: it cannot be timed.
    if (durationMs === undefined) return;
    let slots = this.own.get(breaker);
    if (slots === undefined) {
      if (this.registry.size <= this.maxBreakers || this.named.has(breaker)) {
        slots = [undefined, undefined, undefined];
        this.own.set(breaker, slots);
      } else {
        slots = this.other;
      }
    }
    let series = slots[outcome];
    if (series === undefined) {
      const label = slots === this.other ? OTHER : breaker;
      series = this.family.seriesFor(seriesKey(slots === this.other, label, outcome), {
        breaker: label,
        outcome: OUTCOMES[outcome],
      });
      slots[outcome] = series;
    }
    this.family.observe(series, durationMs / 1000);
  }

  /** A breaker dropped from the registry takes its series with it: no cardinality left behind. */
  private prune(): void {
    for (const [breaker, slots] of this.own) {
      if (this.registry.has(breaker)) continue;
      this.own.delete(breaker);
      slots.forEach((series, outcome) => {
        if (series !== undefined) this.family.delete(seriesKey(false, breaker, outcome));
      });
    }
  }
}

function seriesKey(other: boolean, breaker: string, outcome: number): string {
  return other ? `other:${outcome}` : `own:${outcome}:${breaker}`;
}
