import type { BreakerRegistry, StateName } from '@breakwater/core';
import type { Attributes } from '@opentelemetry/api';

/** The values of `breakwater.state`: core's four, with an operator's hold apart from a timed open. */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/** The values of `breakwater.outcome` on `breakwater.calls`. */
export const CALL_OUTCOMES = [
  'success',
  'failure',
  'ignored',
  'rejected',
  'timeout',
  'fallback',
] as const;

/** The outcomes a call's duration is recorded under: the events that carry `durationMs`. */
export type TimedOutcome = 'success' | 'failure' | 'ignored';

const STATE_NAMES: readonly StateName[] = ['closed', 'open', 'half_open', 'disabled'];

/** Every (from, to) pair of core's states, in the order transition series are indexed. */
export const TRANSITION_PAIRS: readonly (readonly [StateName, StateName])[] = STATE_NAMES.flatMap(
  (from) => STATE_NAMES.map((to) => [from, to] as const),
);

/** Where past `maxBreakers` the rest of the breakers are summed. */
const OTHER = '_other';

/**
 * The attribute sets of one breaker's series, made once and reused by every collection and
 * recorded duration: a collection of a thousand breakers builds no attribute objects.
 */
export class BreakerSeries {
  readonly breaker: Attributes;
  readonly states: readonly Attributes[];
  readonly outcomes: readonly Attributes[];
  /** Collection that last saw the breaker among the first `maxBreakers`. */
  seen = 0;
  private readonly transitionSets: (Attributes | undefined)[] = [];

  constructor(readonly name: string) {
    this.breaker = { 'breakwater.breaker': name };
    this.states = CIRCUIT_STATES.map((state) => ({ ...this.breaker, 'breakwater.state': state }));
    this.outcomes = CALL_OUTCOMES.map((outcome) => ({
      ...this.breaker,
      'breakwater.outcome': outcome,
    }));
  }

  /** Made on first use: most breakers only ever make two or three of the sixteen. */
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

/**
 * Which breakers have series of their own: the first `maxBreakers` in registry order, as the
 * last collection found them. Series of breakers gone or pushed past the limit are dropped.
 */
export class SeriesByName {
  readonly other = new BreakerSeries(OTHER);
  private readonly byName = new Map<string, BreakerSeries>();
  private collection = 0;

  constructor(private readonly maxBreakers: number) {}

  /** Lists the first `maxBreakers` now, so that calls before the first collection find them. */
  prime(registry: BreakerRegistry): void {
    this.startWalk();
    let index = 0;
    registry.forEach((_, name) => {
      if (index++ < this.maxBreakers) this.listed(name);
    });
    this.endWalk();
  }

  /** Starts a collection's walk; `listed()` each of the first `maxBreakers`, then `endWalk()`. */
  startWalk(): void {
    this.collection++;
  }

  listed(name: string): BreakerSeries {
    const series = this.byName.get(name) ?? this.add(name);
    series.seen = this.collection;
    return series;
  }

  endWalk(): void {
    for (const [name, series] of this.byName) {
      if (series.seen !== this.collection) this.byName.delete(name);
    }
  }

  /**
   * The series a call's duration goes to between walks: a breaker added since the last one gets
   * its own while there is room, as it comes last in registry order; the next walk confirms it.
   */
  forCall(name: string): BreakerSeries {
    const series = this.byName.get(name);
    if (series !== undefined) return series;
    return this.byName.size < this.maxBreakers ? this.add(name) : this.other;
  }

  private add(name: string): BreakerSeries {
    const series = new BreakerSeries(name);
    series.seen = this.collection;
    this.byName.set(name, series);
    return series;
  }
}
