import type { StateName } from '@breakwater/core';
import { CALL_OUTCOMES, CIRCUIT_STATES, TRANSITION_PAIRS } from '@breakwater/core/observe';
import type { Attributes } from '@opentelemetry/api';

/** The outcomes a call's duration is recorded under: the events that carry `durationMs`. */
export type TimedOutcome = 'success' | 'failure' | 'ignored';

/**
 * The attribute sets of one series (a breaker's own, or `_other`), made once and reused by
 * every collection and recorded duration: a collection of a thousand breakers builds no
 * attribute objects.
 */
export class BreakerSeries {
  readonly breaker: Attributes;
  /** In the order of CIRCUIT_STATES. */
  readonly states: readonly Attributes[];
  /** In the order of CALL_OUTCOMES. */
  readonly outcomes: readonly Attributes[];
  private readonly transitionSets: (Attributes | undefined)[] = [];

  constructor(name: string) {
    this.breaker = { 'breakwater.breaker': name };
    this.states = CIRCUIT_STATES.map((state) => ({ ...this.breaker, 'breakwater.state': state }));
    this.outcomes = CALL_OUTCOMES.map((outcome) => ({
      ...this.breaker,
      'breakwater.outcome': outcome,
    }));
  }

  /** The set of TRANSITION_PAIRS[index], made on first use: most series show 4 of the 16. */
  transition(index: number): Attributes {
    let set = this.transitionSets[index];
    if (set === undefined) {
      const [from, to] = TRANSITION_PAIRS[index] as readonly [StateName, StateName];
      set = { ...this.breaker, 'breakwater.from': from, 'breakwater.to': to };
      this.transitionSets[index] = set;
    }
    return set;
  }

  /** A duration's attributes are its outcome's on `breakwater.calls`. */
  duration(outcome: TimedOutcome): Attributes {
    return this.outcomes[CALL_OUTCOMES.indexOf(outcome)] as Attributes;
  }
}
