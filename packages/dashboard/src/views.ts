import type {
  CircuitBreaker,
  Criticality,
  HealthStatus,
  StateName,
  Transition,
  TransitionReason,
} from '@breakwater/core';
import { STATUS_BY_RANK, statusRank } from './health.js';
import type { History } from './history.js';

/** A breaker's state as the page shows it: held open is told apart from tripped open. */
export type ViewState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled';

/** One breaker, as the page shows it (GET breakers, and the `state` and `stats` events). */
export interface BreakerView {
  readonly name: string;
  readonly state: ViewState;
  readonly criticality: Criticality;
  /** What it contributes to the health roll-up. */
  readonly status: HealthStatus;
  readonly metrics: {
    readonly total: number;
    readonly successes: number;
    readonly failures: number;
    readonly rejections: number;
    readonly ignored: number;
    readonly timeouts: number;
    readonly fallbacks: number;
    readonly opened: number;
    readonly closed: number;
    /** Null without a rate window or below its minimumCalls. */
    readonly failureRate: number | null;
    readonly slowCallRate: number | null;
  };
  readonly lastTransition: {
    readonly from: StateName;
    readonly to: StateName;
    readonly reason: TransitionReason;
    readonly at: number;
  } | null;
  /** Epoch ms when an open breaker lets its first probe through; null unless timed open. */
  readonly nextProbeAt: number | null;
  /** Calls and counted failures per sample interval, oldest first. */
  readonly history: { readonly calls: number[]; readonly errors: number[] };
}

export function breakerView(
  breaker: CircuitBreaker<unknown>,
  name: string,
  criticality: Criticality,
  history: History | undefined,
): BreakerView {
  const state = breaker.state();
  const metrics = breaker.metrics();
  const timedOpen = state.name === 'open' && !state.forced;
  return {
    name,
    state: state.name === 'open' && state.forced ? 'forced_open' : state.name,
    criticality,
    status: STATUS_BY_RANK[statusRank(state.name, criticality)] ?? 'critical',
    metrics: {
      total: metrics.totalRequests,
      successes: metrics.successfulRequests,
      failures: metrics.failedRequests,
      rejections: metrics.rejectedRequests,
      ignored: metrics.ignoredErrors,
      timeouts: metrics.timeouts,
      fallbacks: metrics.fallbacks,
      opened: metrics.timesOpened,
      closed: metrics.timesClosed,
      failureRate: rateOrNull(metrics.failureRate),
      slowCallRate: rateOrNull(metrics.slowCallRate),
    },
    lastTransition: transitionView(breaker.lastTransition()),
    nextProbeAt: timedOpen ? state.until : null,
    history: history?.view() ?? { calls: [], errors: [] },
  };
}

/** Core says -1 for "no rate yet"; JSON readers get null, never a rate that looks real. */
export function rateOrNull(rate: number): number | null {
  return rate < 0 ? null : rate;
}

function transitionView(transition: Transition | undefined): BreakerView['lastTransition'] {
  if (transition === undefined) return null;
  const { from, to, reason, at } = transition;
  return { from, to, reason, at };
}
