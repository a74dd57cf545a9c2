import {
  type BreakerReading,
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  TRANSITION_PAIRS,
} from '@breakwater/core/observe';
import {
  type BatchObservableResult,
  type Meter,
  type Observable,
  ValueType,
} from '@opentelemetry/api';
import type { BreakerSeries } from './breaker-series.js';

/** The observable instruments one walk of the registry feeds. */
export interface BreakerObservables {
  readonly state: Observable;
  readonly calls: Observable;
  readonly transitions: Observable;
  readonly failureRate: Observable;
  readonly slowCallRate: Observable;
  readonly health: Observable;
}

export function createBreakerObservables(meter: Meter): BreakerObservables {
  return {
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
        'State changes by from and to, counted as they happen: an opening shorter than the collection interval still shows. closed>open, open>half_open, half_open>open and half_open>closed are reported from the start, at 0; the other pairs once they happen',
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
}

/** Observes one series (a breaker's own, or `_other`) as the walk reads it. */
export function observeSeries(
  result: BatchObservableResult,
  instruments: BreakerObservables,
  reading: BreakerReading<BreakerSeries>,
): void {
  const { series } = reading;
  for (let i = 0; i < CIRCUIT_STATES.length; i++) {
    result.observe(instruments.state, reading.states[i] as number, series.states[i]);
  }
  for (let i = 0; i < CALL_OUTCOMES.length; i++) {
    result.observe(instruments.calls, reading.calls[i] as number, series.outcomes[i]);
  }
  for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
    if (!reading.shows(t)) continue;
    result.observe(instruments.transitions, reading.transitions[t] as number, series.transition(t));
  }
  // Absent, not -1, below minimumCalls; never for _other (a summed rate would mean nothing).
  if (reading.failureRate >= 0) {
    result.observe(instruments.failureRate, reading.failureRate, series.breaker);
  }
  if (reading.slowCallRate >= 0) {
    result.observe(instruments.slowCallRate, reading.slowCallRate, series.breaker);
  }
}
