import type { BreakerRegistry, Logger } from '@breakwater/core';
import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { ValueType } from '@opentelemetry/api';
import { SeriesByName } from './breaker-series.js';
import { BreakerWalk } from './breaker-walk.js';
import { recordCallDurations } from './call-durations.js';
import { type Instrumentation, type MeterOptions, observing, requireMeter } from './meter.js';

export interface InstrumentBreakersOptions extends MeterOptions {
  /** The first this many breakers get series of their own; the rest are summed under `_other`. Default 1000. */
  maxBreakers?: number | undefined;
  /** Also record each call's duration in `breakwater.call.duration` (takes breakers off their fast path). Default false. */
  durations?: boolean | undefined;
  /** Told once when the registry outgrows `maxBreakers`. Default: `process.emitWarning`. */
  logger?: Pick<Logger, 'warn'> | undefined;
}

const OWNER = 'instrumentBreakers';
const KEYS: ReadonlySet<string> = new Set(['meter', 'maxBreakers', 'durations', 'logger']);
const DEFAULT_MAX_BREAKERS = 1000;

/**
 * Reports every breaker of `registry` through observable instruments, read from the breakers
 * at collection time in one walk of the registry: breakers added later appear, and calls pay
 * nothing (unless `durations` is on).
 */
export function instrumentBreakers(
  registry: BreakerRegistry,
  options: InstrumentBreakersOptions,
): Instrumentation {
  if (typeof registry?.forEach !== 'function' || typeof registry.on !== 'function') {
    throw new TypeError(`${OWNER}: needs a BreakerRegistry, got ${describeValue(registry)}`);
  }
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KEYS);
  const meter = requireMeter(OWNER, options.meter);
  const maxBreakers = integerAtLeast(
    OWNER,
    'maxBreakers',
    orDefault(options.maxBreakers, DEFAULT_MAX_BREAKERS),
    1,
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

  const instruments = {
    state: meter.createObservableGauge('breakwater.circuit.state', {
      description:
        'Whether the breaker is in this state: 1 for its current state, 0 for the other four (forced_open: held open by an operator, then open is 0)',
      valueType: ValueType.INT,
    }),
    calls: meter.createObservableCounter('breakwater.calls', {
      description:
        'Calls by outcome since the breaker was made or reset; a timeout is also counted as a failure or an ignored error, as the failure policy says',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    transitions: meter.createObservableCounter('breakwater.state_transitions', {
      description:
        'State changes by from and to, counted as they happen: an opening shorter than the collection interval still shows',
      unit: '{transition}',
      valueType: ValueType.INT,
    }),
    failureRate: meter.createObservableGauge('breakwater.failure_rate', {
      description:
        "Share of counted failures in the breaker's rate window; absent without a window or below its minimumCalls",
      unit: '1',
    }),
    slowCallRate: meter.createObservableGauge('breakwater.slow_call_rate', {
      description:
        "Share of slow calls in the breaker's rate window; absent without a window or below its minimumCalls",
      unit: '1',
    }),
    health: meter.createObservableGauge('breakwater.health.status', {
      description: "The registry's health roll-up: 0 healthy, 1 warning, 2 degraded, 3 critical",
      valueType: ValueType.INT,
    }),
  };

  const series = new SeriesByName(maxBreakers);
  let warned = false;
  const walk = new BreakerWalk(registry, instruments, series, maxBreakers, (breakers) => {
    if (warned) return;
    warned = true;
    warnOverLimit(logger, breakers, maxBreakers);
  });
  let stopDurations: (() => void) | undefined;
  if (durations) {
    series.prime(registry);
    stopDurations = recordCallDurations(registry, meter, series);
  }
  return observing(
    meter,
    walk.observe,
    Object.values(instruments),
    stopDurations === undefined ? [] : [stopDurations],
  );
}

function warnOverLimit(
  logger: Pick<Logger, 'warn'> | undefined,
  breakers: number,
  maxBreakers: number,
): void {
  const message = `${OWNER}: the registry holds ${breakers} breakers, more than maxBreakers (${maxBreakers}); the rest are reported summed under breakwater.breaker="_other" (raise maxBreakers to see them apart)`;
  if (logger === undefined) process.emitWarning(message, { code: 'BREAKWATER_MAX_BREAKERS' });
  else logger.warn({ breakers, maxBreakers }, message);
}
