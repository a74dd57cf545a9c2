import type {
  BreakerMetrics,
  BreakerRegistry,
  CircuitBreaker,
  Criticality,
  StateName,
} from '@breakwater/core';
import type { Sample } from './family.js';

/** The `state` label: core's four states, with a held-open breaker told apart from a timed open. */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/** The `outcome` label of the calls counter. */
export const CALL_OUTCOMES = [
  'success',
  'failure',
  'ignored',
  'rejected',
  'timeout',
  'fallback',
] as const;

/** Where each outcome's count is in core's metrics, in the order of {@link CALL_OUTCOMES}. */
const CALL_FIELDS = [
  'successfulRequests',
  'failedRequests',
  'ignoredErrors',
  'rejectedRequests',
  'timeouts',
  'fallbacks',
] as const satisfies readonly (keyof BreakerMetrics)[];

type CallField = (typeof CALL_FIELDS)[number];

/** The `breaker` label of the series past `maxBreakers`. */
export const OTHER = '_other';

const STATE_NAMES: readonly StateName[] = ['closed', 'open', 'half_open', 'disabled'];
// Core's health ranks: an open breaker reports its criticality, half-open and disabled `warning`.
const CRITICALITY_RANK: Readonly<Record<Criticality, number>> = {
  warning: 1,
  degraded: 2,
  critical: 3,
};

/** Every breaker family's samples from one walk over the registry. */
export interface BreakerScrape {
  readonly state: Sample[];
  readonly calls: Sample[];
  readonly transitions: Sample[];
  readonly failureRate: Sample[];
  readonly slowCallRate: Sample[];
  /** 0 healthy, 1 warning, 2 degraded, 3 critical: `registry.health().status`, without its array. */
  health: number;
  /** Breakers past `maxBreakers`, summed under `breaker="_other"`. */
  overflow: number;
}

/**
 * Walks the registry once: the first `maxBreakers` breakers get series of their own; the rest are
 * added into fixed-size sums, so the samples (and the memory) stay bounded however many breakers
 * the registry holds. `named`, when given, is refilled with the names that got series of their own.
 */
export function walkBreakers(
  registry: Pick<BreakerRegistry, 'forEach'>,
  maxBreakers: number,
  named: Set<string> | undefined,
): BreakerScrape {
  const scrape: BreakerScrape = {
    state: [],
    calls: [],
    transitions: [],
    failureRate: [],
    slowCallRate: [],
    health: 0,
    overflow: 0,
  };
  named?.clear();
  const other = new OtherSums();
  let seen = 0;
  registry.forEach((breaker, name, criticality) => {
    const state = breaker.state();
    const rank =
      state.name === 'open' ? CRITICALITY_RANK[criticality] : state.name === 'closed' ? 0 : 1;
    if (rank > scrape.health) scrape.health = rank;
    const current: CircuitState =
      state.name === 'open' && state.forced ? 'forced_open' : state.name;
    if (seen++ < maxBreakers) {
      named?.add(name);
      addOwnSeries(scrape, breaker, name, current);
    } else {
      other.add(breaker, current);
    }
  });
  scrape.overflow = other.breakers;
  if (other.breakers > 0) other.addSeries(scrape);
  return scrape;
}

function addOwnSeries(
  scrape: BreakerScrape,
  breaker: CircuitBreaker<unknown>,
  name: string,
  current: CircuitState,
): void {
  for (const state of CIRCUIT_STATES)
    scrape.state.push({ labels: { breaker: name, state }, value: state === current ? 1 : 0 });
  const m = breaker.metrics();
  for (let i = 0; i < CALL_OUTCOMES.length; i++) {
    scrape.calls.push({
      labels: { breaker: name, outcome: CALL_OUTCOMES[i] as string },
      value: m[CALL_FIELDS[i] as CallField],
    });
  }
  for (const from of STATE_NAMES) {
    for (const to of STATE_NAMES) {
      const count = breaker.transitionCount(from, to);
      if (count > 0) scrape.transitions.push({ labels: { breaker: name, from, to }, value: count });
    }
  }
  // Core says -1 below minimumCalls or without a window: no sample, not a false 0 or -1.
  if (m.failureRate >= 0)
    scrape.failureRate.push({ labels: { breaker: name }, value: m.failureRate });
  if (m.slowCallRate >= 0)
    scrape.slowCallRate.push({ labels: { breaker: name }, value: m.slowCallRate });
}

/** The breakers past `maxBreakers`, added up in place: nothing kept per breaker. */
class OtherSums {
  breakers = 0;
  private readonly states = new Float64Array(CIRCUIT_STATES.length);
  private readonly calls = new Float64Array(CALL_OUTCOMES.length);
  /** At from * 4 + to, in the order of STATE_NAMES. */
  private readonly transitions = new Float64Array(STATE_NAMES.length ** 2);

  add(breaker: CircuitBreaker<unknown>, current: CircuitState): void {
    this.breakers++;
    bump(this.states, CIRCUIT_STATES.indexOf(current), 1);
    const m = breaker.metrics();
    for (let i = 0; i < CALL_FIELDS.length; i++)
      bump(this.calls, i, m[CALL_FIELDS[i] as CallField]);
    let pair = 0;
    for (const from of STATE_NAMES)
      for (const to of STATE_NAMES)
        bump(this.transitions, pair++, breaker.transitionCount(from, to));
  }

  /** Rates are not summed: a sum of shares means nothing. */
  addSeries(scrape: BreakerScrape): void {
    CIRCUIT_STATES.forEach((state, i) => {
      scrape.state.push({ labels: { breaker: OTHER, state }, value: this.states[i] as number });
    });
    CALL_OUTCOMES.forEach((outcome, i) => {
      scrape.calls.push({ labels: { breaker: OTHER, outcome }, value: this.calls[i] as number });
    });
    let pair = 0;
    for (const from of STATE_NAMES) {
      for (const to of STATE_NAMES) {
        const count = this.transitions[pair++] as number;
        if (count > 0)
          scrape.transitions.push({ labels: { breaker: OTHER, from, to }, value: count });
      }
    }
  }
}

function bump(sums: Float64Array, at: number, by: number): void {
  sums[at] = (sums[at] as number) + by;
}
