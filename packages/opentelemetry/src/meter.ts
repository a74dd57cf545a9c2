import { describeValue, rejectUnknownKeys, requireObject } from '@breakwater/core/validate';
import type { BatchObservableCallback, Histogram, Meter, Observable } from '@opentelemetry/api';

/** What every `instrument*` function returns: `close()` stops its reporting for good. */
export interface Instrumentation {
  /** Removes the observable callbacks and unsubscribes from every event; safe to call twice. */
  close(): void;
}

/** What every `instrument*` function takes, and all `instrumentAuthorization`/`instrumentScans` take. */
export interface MeterOptions {
  /** Where the instruments are made: `meterProvider.getMeter('my-service')`. */
  meter: Meter;
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

const METER_ONLY: ReadonlySet<string> = new Set(['meter']);

/** The options of an `instrument*` function that takes nothing but the meter. */
export function meterOnly(owner: string, options: unknown): Meter {
  requireObject(owner, options);
  rejectUnknownKeys(owner, options, METER_ONLY);
  return requireMeter(owner, (options as { meter?: unknown }).meter);
}

/** What is instrumented: something with counters to read (`stats()`) and events (`on()`). */
export function requireSource(owner: string, source: unknown, what: string): void {
  const methods = source as { stats?: unknown; on?: unknown } | null | undefined;
  if (typeof methods?.stats !== 'function' || typeof methods.on !== 'function') {
    throw new TypeError(
      `${owner}: needs ${what} (with stats() and on()), got ${describeValue(source)}`,
    );
  }
}

/**
 * Registers `observe` as the one batch callback of `observables`, and returns the handle that
 * removes it and calls each of `unsubscribes`.
 */
export function observing(
  meter: Meter,
  observe: BatchObservableCallback,
  observables: Observable[],
  unsubscribes: readonly (() => void)[],
): Instrumentation {
  meter.addBatchObservableCallback(observe, observables);
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      meter.removeBatchObservableCallback(observe, observables);
      for (const unsubscribe of unsubscribes) unsubscribe();
    },
  };
}

/** A histogram of durations in seconds, with the shared buckets as advice (a View can override them). */
export function secondsHistogram(meter: Meter, name: string, description: string): Histogram {
  return meter.createHistogram(name, {
    description,
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });
}
