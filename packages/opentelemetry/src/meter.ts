import { describeValue } from '@breakwater/core/validate';
import type { Histogram, Meter } from '@opentelemetry/api';

/** What every `instrument*` function returns: `close()` stops its reporting for good. */
export interface Instrumentation {
  /** Removes the observable callbacks and unsubscribes from every event; safe to call twice. */
  close(): void;
}

/** The same buckets as `@breakwater/prometheus`, so both exports of a duration line up. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

const METER_METHODS = [
  'createHistogram',
  'createObservableGauge',
  'createObservableCounter',
  'addBatchObservableCallback',
  'removeBatchObservableCallback',
] as const;

/** The `meter` option: a Meter from `metrics.getMeter()` or an SDK MeterProvider's `getMeter()`. */
export function requireMeter(owner: string, meter: unknown): Meter {
  for (const method of METER_METHODS) {
    if (typeof (meter as Record<string, unknown> | null | undefined)?.[method] !== 'function') {
      throw new TypeError(
        `${owner}: option "meter" must be an OpenTelemetry Meter (from meterProvider.getMeter(name)), got ${describeValue(meter)}`,
      );
    }
  }
  return meter as Meter;
}

/** A histogram of durations in seconds, with the shared buckets as advice (a View can override them). */
export function secondsHistogram(meter: Meter, name: string, description: string): Histogram {
  return meter.createHistogram(name, {
    description,
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });
}
