import type {
  BreakerMetrics,
  BreakerRegistry,
  BreakerState,
  CircuitBreaker,
  Criticality,
} from '@breakwater/core';
import type { BatchObservableResult, Observable } from '@opentelemetry/api';
import {
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  type CircuitState,
  type SeriesByName,
  TRANSITION_PAIRS,
} from './breaker-series.js';

/** The observable instruments one walk of the registry feeds. */
export interface BreakerObservables {
  readonly state: Observable;
  readonly calls: Observable;
  readonly transitions: Observable;
  readonly failureRate: Observable;
  readonly slowCallRate: Observable;
  readonly health: Observable;
}

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

function callCount(metrics: BreakerMetrics, index: number): number {
  return metrics[CALL_METRIC[CALL_OUTCOMES[index] as (typeof CALL_OUTCOMES)[number]]];
}

function transitionCount(breaker: CircuitBreaker<unknown>, index: number): number {
  const [from, to] = TRANSITION_PAIRS[index] as (typeof TRANSITION_PAIRS)[number];
  return breaker.transitionCount(from, to);
}

/**
 * One collection's walk of the registry: each of the first `maxBreakers` breakers observed under
 * its own series, the rest summed into `_other`, and the health roll-up computed on the way
 * (what `registry.health()` says, without building its list).
 */
export class BreakerWalk {
  // The breakers past maxBreakers, summed afresh at each collection.
  private readonly otherStates = new Array<number>(CIRCUIT_STATES.length);
  private readonly otherCalls = new Array<number>(CALL_OUTCOMES.length);
  private readonly otherTransitions = new Array<number>(TRANSITION_PAIRS.length);

  constructor(
    private readonly registry: BreakerRegistry,
    private readonly instruments: BreakerObservables,
    private readonly series: SeriesByName,
    private readonly maxBreakers: number,
    /** Called after each collection that found more than `maxBreakers`, with how many. */
    private readonly overLimit: (breakers: number) => void,
  ) {}

  readonly observe = (result: BatchObservableResult): void => {
    const { instruments, series, maxBreakers } = this;
    this.otherStates.fill(0);
    this.otherCalls.fill(0);
    this.otherTransitions.fill(0);
    let count = 0;
    let rank = 0;
    series.startWalk();
    this.registry.forEach((breaker, name, criticality) => {
      const state = breaker.state();
      rank = Math.max(rank, healthRank(state.name, criticality));
      if (count++ >= maxBreakers) {
        this.addToOther(breaker, circuitState(state));
        return;
      }
      const shown = circuitState(state);
      const metrics = breaker.metrics();
      const own = series.listed(name);
      for (let i = 0; i < CIRCUIT_STATES.length; i++) {
        result.observe(instruments.state, i === shown ? 1 : 0, own.states[i]);
      }
      for (let i = 0; i < CALL_OUTCOMES.length; i++) {
        result.observe(instruments.calls, callCount(metrics, i), own.outcomes[i]);
      }
      for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
        const n = transitionCount(breaker, t);
        if (n > 0) result.observe(instruments.transitions, n, own.transition(t));
      }
      if (metrics.failureRate >= 0) {
        result.observe(instruments.failureRate, metrics.failureRate, own.breaker);
      }
      if (metrics.slowCallRate >= 0) {
        result.observe(instruments.slowCallRate, metrics.slowCallRate, own.breaker);
      }
    });
    series.endWalk();
    result.observe(instruments.health, rank);
    if (count <= maxBreakers) return;
    this.observeOther(result);
    this.overLimit(count);
  };

  private addToOther(breaker: CircuitBreaker<unknown>, shown: number): void {
    const { otherStates, otherCalls, otherTransitions } = this;
    otherStates[shown] = (otherStates[shown] as number) + 1;
    const metrics = breaker.metrics();
    for (let i = 0; i < CALL_OUTCOMES.length; i++) {
      otherCalls[i] = (otherCalls[i] as number) + callCount(metrics, i);
    }
    for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
      otherTransitions[t] = (otherTransitions[t] as number) + transitionCount(breaker, t);
    }
  }

  /** `_other` has no rates: a rate summed over breakers would mean nothing. */
  private observeOther(result: BatchObservableResult): void {
    const { instruments } = this;
    const { other } = this.series;
    for (let i = 0; i < CIRCUIT_STATES.length; i++) {
      result.observe(instruments.state, this.otherStates[i] as number, other.states[i]);
    }
    for (let i = 0; i < CALL_OUTCOMES.length; i++) {
      result.observe(instruments.calls, this.otherCalls[i] as number, other.outcomes[i]);
    }
    for (let t = 0; t < TRANSITION_PAIRS.length; t++) {
      const n = this.otherTransitions[t] as number;
      if (n > 0) result.observe(instruments.transitions, n, other.transition(t));
    }
  }
}
