import type { BreakerRegistry } from '@breakwater/core';
import type { RegistryObserver } from '@breakwater/core/observe';
import type { Meter } from '@opentelemetry/api';
import type { BreakerSeries, TimedOutcome } from './breaker-series.js';
import { secondsHistogram } from './meter.js';

/**
 * Records every call's duration in `breakwater.call.duration`, under the series the observer
 * gave the breaker (its own or `_other`, the same as its counters). Listening to a breaker's
 * call events takes it off its fast path (each call then reads the clock at its start): this is
 * the opt-in cost of `durations: true`. Returns the function that unsubscribes.
 */
export function recordCallDurations(
  registry: BreakerRegistry,
  meter: Meter,
  observer: RegistryObserver<BreakerSeries>,
): () => void {
  const histogram = secondsHistogram(
    meter,
    'breakwater.call.duration',
    'Call durations by outcome (success, failure, ignored), on the breaker clock',
  );
  const recorder =
    (outcome: TimedOutcome) =>
    ({ breaker, durationMs }: { breaker: string; durationMs?: number }) => {
      // A call that began before this listener has no start time to measure from.
      if (durationMs === undefined) return;
      // Undefined once the registry no longer holds the breaker: it has no series to go under.
      const series = observer.seriesOf(breaker);
      if (series !== undefined) histogram.record(durationMs / 1000, series.duration(outcome));
    };
  const unsubscribes = [
    registry.on('success', recorder('success')),
    registry.on('failure', recorder('failure')),
    registry.on('ignored', recorder('ignored')),
  ];
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}
