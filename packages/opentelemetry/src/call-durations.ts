import type { BreakerRegistry } from '@breakwater/core';
import type { Meter } from '@opentelemetry/api';
import type { SeriesByName, TimedOutcome } from './breaker-series.js';
import { secondsHistogram } from './meter.js';

/**
 * Records every call's duration in `breakwater.call.duration`. Listening to a breaker's call
 * events takes it off its fast path (each call then reads the clock at its start): this is the
 * opt-in cost of `durations: true`. Returns the function that unsubscribes.
 */
export function recordCallDurations(
  registry: BreakerRegistry,
  meter: Meter,
  series: SeriesByName,
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
      histogram.record(durationMs / 1000, series.forCall(breaker).duration(outcome));
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
