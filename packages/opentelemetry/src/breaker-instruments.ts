import type { BreakerRegistry, Logger } from '@breakwater/core';
import { RegistryObserver, type WalkSummary } from '@breakwater/core/observe';
import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import type { BatchObservableCallback } from '@opentelemetry/api';
import { createBreakerObservables, observeSeries } from './breaker-observables.js';
import { BreakerSeries } from './breaker-series.js';
import { recordCallDurations } from './call-durations.js';
import { type Instrumentation, type MeterOptions, observing, requireMeter } from './meter.js';

export interface InstrumentBreakersOptions extends MeterOptions {
  /**
   * How many breakers may hold series of their own at once; a breaker is given its own or a
   * share of `_other` when first seen, for its whole life. 0: only `_other`. Default 1000.
   */
  maxBreakers?: number | undefined;
  /** Also record each call's duration in `breakwater.call.duration` (takes breakers off their fast path). Default false. */
  durations?: boolean | undefined;
  /** Told once when a breaker first falls past `maxBreakers` (unless it is 0). Default: `process.emitWarning`. */
  logger?: Pick<Logger, 'warn'> | undefined;
}

const OWNER = 'instrumentBreakers';
const KEYS: ReadonlySet<string> = new Set(['meter', 'maxBreakers', 'durations', 'logger']);
const DEFAULT_MAX_BREAKERS = 1000;

/**
 * Reports every breaker of `registry` through observable instruments, read from the breakers
 * at collection time in one walk of the registry (core's RegistryObserver, shared with
 * @breakwater/prometheus): breakers added later appear, and calls pay nothing (unless
 * `durations` is on).
 */
export function instrumentBreakers(
  registry: BreakerRegistry,
  options: InstrumentBreakersOptions,
): Instrumentation {
  if (
    typeof registry?.forEach !== 'function' ||
    typeof registry.find !== 'function' ||
    typeof registry.on !== 'function'
  ) {
    throw new TypeError(`${OWNER}: needs a BreakerRegistry, got ${describeValue(registry)}`);
  }
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KEYS);
  const meter = requireMeter(OWNER, options.meter);
  const maxBreakers = integerAtLeast(
    OWNER,
    'maxBreakers',
    orDefault(options.maxBreakers, DEFAULT_MAX_BREAKERS),
    0,
  );
  const durations = orDefault(options.durations, false);
  if (typeof durations !== 'boolean') {
    throw new TypeError(
      `${OWNER}: option "durations" must be a boolean, got ${describeValue(durations)}`,
    );
  }
  const logger = options.logger;
  if (logger !== undefined && typeof logger?.warn !== 'function') {
    throw new TypeError(
      `${OWNER}: option "logger" must have a warn(fields, message) method, got ${describeValue(logger)}`,
    );
  }

  const instruments = createBreakerObservables(meter);
  const observer = new RegistryObserver<BreakerSeries>(registry, {
    maxBreakers,
    series: (name) => new BreakerSeries(name),
  });
  let warned = maxBreakers === 0;
  const observe: BatchObservableCallback = (result) => {
    const summary = observer.walk((reading) => observeSeries(result, instruments, reading));
    result.observe(instruments.health, summary.health);
    if (summary.overflow > 0 && !warned) {
      warned = true;
      warnOverLimit(logger, summary, maxBreakers);
    }
  };
  let stopDurations: (() => void) | undefined;
  if (durations) {
    // The first maxBreakers in registry order get their own series, not the first called.
    observer.prime();
    stopDurations = recordCallDurations(registry, meter, observer);
  }
  return observing(
    meter,
    observe,
    Object.values(instruments),
    stopDurations === undefined ? [] : [stopDurations],
  );
}

function warnOverLimit(
  logger: Pick<Logger, 'warn'> | undefined,
  { breakers, overflow }: WalkSummary,
  maxBreakers: number,
): void {
  const message = `${OWNER}: ${overflow} of the registry's ${breakers} breakers are reported summed under breakwater.breaker="_other", for as long as they live: they came while maxBreakers (${maxBreakers}) breakers had series of their own (raise maxBreakers to see them apart)`;
  if (logger === undefined) process.emitWarning(message, { code: 'BREAKWATER_MAX_BREAKERS' });
  else logger.warn({ breakers, overflow, maxBreakers }, message);
}
