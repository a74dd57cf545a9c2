import type {
  BreakerMetrics,
  BreakerRegistry,
  BreakerState,
  CircuitBreaker,
  Criticality,
  Logger,
} from '@breakwater/core';
import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { type BatchObservableCallback, ValueType } from '@opentelemetry/api';
import {
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  type CircuitState,
  SeriesByName,
  TRANSITION_PAIRS,
} from './breaker-series.js';
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

/** Which counter of core's metrics each `breakwater.outcome` reports. */
const CALL_METRIC = {
  success: 'successfulRequests',
  failure: 'failedRequests',
  ignored: 'ignoredErrors',
  rejected: 'rejectedRequests',
  timeout: 'timeouts',
  fallback: 'fallbacks',
} as const satisfies Record<(typeof CALL_OUTCOMES)[number], keyof BreakerMetrics>;

/** Core's health ranks (0 healthy ... 3 critical) and its rule for what a breaker contributes. */
const CRITICALITY_RANK: Readonly<Record<Criticality, number>> = {
  warning: 1,
  degraded: 2,
  critical: 3,
};

function healthRank(state: BreakerState['name'], criticality: Criticality): number {
  if (state === 'open') return CRITICALITY_RANK[criticality];
  return state === 'closed' ? 0 : 1;
}

function circuitState(state: BreakerState): number {
  const shown: CircuitState = state.name === 'open' && state.forced ? 'forced_open' : state.name;
  return CIRCUIT_STATES.indexOf(shown);
}

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

  const stateGauge = meter.createObservableGauge('breakwater.circuit.state', {
    description:
      'Whether the breaker is in this state: 1 for its current state, 0 for the other four (forced_open: held open by an operator, then open is 0)',
    valueType: ValueType.INT,
  });
  const calls = meter.createObservableCounter('breakwater.calls', {
    description:
      'Calls by outcome since the breaker was made or reset; a timeout is also counted as a failure or an ignored error, as the failure policy says',
    unit: '{call}',
    valueType: ValueType.INT,
  });
  const transitions = meter.createObservableCounter('breakwater.state_transitions', {
    description:
      'State changes by from and to, counted as they happen: an opening shorter than the collection interval still shows',
    unit: '{transition}',
    valueType: ValueType.INT,
  });
  const failureRate = meter.createObservableGauge('breakwater.failure_rate', {
    description:
      "Share of counted failures in the breaker's rate window; absent without a window or below its minimumCalls",
    unit: '1',
  });
  const slowCallRate = meter.createObservableGauge('breakwater.slow_call_rate', {
    description:
      "Share of slow calls in the breaker's rate window; absent without a window or below its minimumCalls",
    unit: '1',
  });
  const health = meter.createObservableGauge('breakwater.health.status', {
    description: "The registry's health roll-up: 0 healthy, 1 warning, 2 degraded, 3 critical",
    valueType: ValueType.INT,
  });
  const observables = [stateGauge, calls, transitions, failureRate, slowCallRate, health];

  const series = new SeriesByName(maxBreakers);
  // The breakers past maxBreakers, summed afresh at each collection.
  const otherStates = new Array<number>(CIRCUIT_STATES.length);
  const otherCalls = new Array<number>(CALL_OUTCOMES.length);
  const otherTransitions = new Array<number>(TRANSITION_PAIRS.length);
  let warned = false;

  const observe: BatchObservableCallback = (result) => {
    otherStates.fill(0);
    otherCalls.fill(0);
    otherTransitions.fill(0);
    let count = 0;
    let rank = 0;
    series.startWalk();
    registry.forEach((breaker, name, criticality) => {
      const state = breaker.state();
      const shown = circuitState(state);
      rank = Math.max(rank, healthRank(state.name, criticality));
      const metrics = breaker.metrics();
      if (count++ >= maxBreakers) {
        otherStates[shown] = (otherStates[shown] as number) + 1;
        for (let i = 0; i < CALL_OUTCOMES.length; i++) {
          const outcome = CALL_OUTCOMES[i] as (typeof CALL_OUTCOMES)[number];
          otherCalls[i] = (otherCalls[i] as number) + metrics[CALL_METRIC[outcome]];
        }
        for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
          otherTransitions[t] = (otherTransitions[t] as number) + transitionCount(breaker, t);
        }
        return;
      }
      const own = series.listed(name);
      for (let i = 0; i < CIRCUIT_STATES.length; i++) {
        result.observe(stateGauge, i === shown ? 1 : 0, own.states[i]);
      }
      for (let i = 0; i < CALL_OUTCOMES.length; i++) {
        const outcome = CALL_OUTCOMES[i] as (typeof CALL_OUTCOMES)[number];
        result.observe(calls, metrics[CALL_METRIC[outcome]], own.outcomes[i]);
      }
      for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
        const n = transitionCount(breaker, t);
        if (n > 0) result.observe(transitions, n, own.transition(t));
      }
      if (metrics.failureRate >= 0) result.observe(failureRate, metrics.failureRate, own.breaker);
      if (metrics.slowCallRate >= 0)
        result.observe(slowCallRate, metrics.slowCallRate, own.breaker);
    });
    series.endWalk();
    result.observe(health, rank);
    if (count <= maxBreakers) return;
    const { other } = series;
    for (let i = 0; i < CIRCUIT_STATES.length; i++) {
      result.observe(stateGauge, otherStates[i] as number, other.states[i]);
    }
    for (let i = 0; i < CALL_OUTCOMES.length; i++) {
      result.observe(calls, otherCalls[i] as number, other.outcomes[i]);
    }
    for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
      const n = otherTransitions[t] as number;
      if (n > 0) result.observe(transitions, n, other.transition(t));
    }
    if (!warned) {
      warned = true;
      warnOverLimit(logger, count, maxBreakers);
    }
  };
  let stopDurations: (() => void) | undefined;
  if (durations) {
    // Calls before the first collection must find the breakers past the limit already known.
    series.startWalk();
    let index = 0;
    registry.forEach((_, name) => {
      if (index++ < maxBreakers) series.listed(name);
    });
    series.endWalk();
    stopDurations = recordCallDurations(registry, meter, series);
  }

  return observing(meter, observe, observables, stopDurations === undefined ? [] : [stopDurations]);
}

function transitionCount(breaker: CircuitBreaker<unknown>, index: number): number {
  const [from, to] = TRANSITION_PAIRS[index] as (typeof TRANSITION_PAIRS)[number];
  return breaker.transitionCount(from, to);
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
