import type { BreakerRegistry } from '@breakwater/core';
import type { RegistryObserver } from '@breakwater/core/observe';
import type { PromSeries } from './breaker-series.js';
import { HistogramFamily } from './histogram.js';

/**
 * `durations: true`: every call's duration, from the registry's `success`, `failure` and
 * `ignored` events. Listening to them takes every breaker off its fast path (each call needs its
 * start time); `close()` unsubscribes, and breakers with no other listener go back to it.
 *
 * A call goes under the series the observer gave its breaker, its own or `_other`, as its calls
 * counter does: so at most maxBreakers breakers have duration series of their own, scraped or
 * not, and the series of a breaker that left are dropped at the next walk.
 */
export class CallDurations {
  readonly family: HistogramFamily;
  private readonly unsubscribe: (() => void)[];

  constructor(
    registry: Pick<BreakerRegistry, 'on'>,
    private readonly observer: RegistryObserver<PromSeries>,
    name: string,
    buckets: readonly number[],
    /** Runs this scrape's walk, which drops the series of breakers that left. */
    scrape: () => void,
  ) {
    this.family = new HistogramFamily(
      name,
      'Duration of calls through the breaker, in seconds, by outcome (success, failure, ignored); calls refused by an open breaker are not timed',
      buckets,
      scrape,
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

  /** The observer's `released`: a breaker that left takes its histogram series with it. */
  release(series: PromSeries): void {
    series.durations.forEach((histogram, outcome) => {
      if (histogram !== undefined) this.family.delete(seriesKey(series, outcome));
    });
  }

  private record(breaker: string, outcome: 0 | 1 | 2, durationMs: number | undefined): void {
    // A call that began before the listener has no start time: it cannot be timed.
    if (durationMs === undefined) return;
    const series = this.observer.seriesOf(breaker);
    if (series === undefined) return;
    let histogram = series.durations[outcome];
    if (histogram === undefined) {
      histogram = this.family.seriesFor(
        seriesKey(series, outcome),
        series.outcomes[outcome] as Readonly<Record<string, string>>,
      );
      series.durations[outcome] = histogram;
    }
    this.family.observe(histogram, durationMs / 1000);
  }
}

function seriesKey(series: PromSeries, outcome: number): string {
  return `${series.id}:${outcome}`;
}
