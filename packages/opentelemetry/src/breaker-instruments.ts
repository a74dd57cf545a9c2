import type { BreakerRegistry, Logger } from '@breakwater/core';
import {
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  RegistryObserver,
  TRANSITION_PAIRS,
  type WalkSummary,
} from '@breakwater/core/observe';
import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { type BatchObservableCallback, ValueType } from '@opentelemetry/api';
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

  const observer = new RegistryObserver<BreakerSeries>(registry, {
    maxBreakers,
    series: (name) => new BreakerSeries(name),
  });
  let warned = maxBreakers === 0;
  const observe: BatchObservableCallback = (result) => {
    const summary = observer.walk((reading) => {
      const { series } = reading;
      for (let i = 0; i < CIRCUIT_STATES.length; i++) {
        result.observe(instruments.state, reading.states[i] as number, series.states[i]);
      }
      for (let i = 0; i < CALL_OUTCOMES.length; i++) {
        result.observe(instruments.calls, reading.calls[i] as number, series.outcomes[i]);
      }
      for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
        if (!reading.shows(t)) continue;
        result.observe(
          instruments.transitions,
          reading.transitions[t] as number,
          series.transition(t),
        );
      }
      if (reading.failureRate >= 0) {
        result.observe(instruments.failureRate, reading.failureRate, series.breaker);
      }
      if (reading.slowCallRate >= 0) {
        result.observe(instruments.slowCallRate, reading.slowCallRate, series.breaker);
      }
    });
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
