import type { Criticality } from '../registry.js';
import type { BreakerState, StateName } from '../state.js';

/** A breaker's state as metrics report it: core's four, with a held-open breaker told apart. */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/** The outcomes a calls counter reports, in the order of a reading's `calls`. */
export const CALL_OUTCOMES = [
  'success',
  'failure',
  'ignored',
  'rejected',
  'timeout',
  'fallback',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

const STATE_NAMES: readonly StateName[] = ['closed', 'open', 'half_open', 'disabled'];

/** Every (from, to) pair of core's states, at from * 4 + to: the order of a reading's `transitions`. */
export const TRANSITION_PAIRS: readonly (readonly [StateName, StateName])[] = Object.freeze(
  STATE_NAMES.flatMap((from) => STATE_NAMES.map((to) => Object.freeze([from, to] as const))),
);

/**
 * The pairs a breaker moves through on its own (closed -> open, open -> half_open,
 * half_open -> open, half_open -> closed), as a bit mask over TRANSITION_PAIRS. They are shown
 * from the first reading, at 0 if need be: a counter series that appears already at 1 is no
 * increase to Prometheus' `increase()`, so a first opening would go unseen.
 */
export const AUTOMATIC_TRANSITIONS = (
  [
    ['closed', 'open'],
    ['open', 'half_open'],
    ['half_open', 'open'],
    ['half_open', 'closed'],
  ] as const
).reduce((mask, [from, to]) => mask | (1 << pairIndex(from, to)), 0);

/** The series name of the breakers past `maxBreakers`, summed. */
export const OTHER = '_other';

/** Health ranks, as `registry.health().status` names them: a rank is an index here. */
export const HEALTH_STATUSES = ['healthy', 'warning', 'degraded', 'critical'] as const;

const CRITICALITY_RANK: Readonly<Record<Criticality, number>> = {
  warning: 1,
  degraded: 2,
  critical: 3,
};

/** Core's rule (registry.health()): open counts as its criticality, half-open or disabled as warning. */
export function healthRank(state: StateName, criticality: Criticality): number {
  if (state === 'open') return CRITICALITY_RANK[criticality];
  return state === 'closed' ? 0 : 1;
}

/** The index in CIRCUIT_STATES of a breaker's state. */
export function circuitStateIndex(state: BreakerState): number {
  switch (state.name) {
    case 'closed':
      return 0;
    case 'open':
      return state.forced ? 3 : 1;
    case 'half_open':
      return 2;
    case 'disabled':
      return 4;
  }
}

/** The index in TRANSITION_PAIRS of the pair from -> to. */
export function pairIndex(from: StateName, to: StateName): number {
  return STATE_NAMES.indexOf(from) * STATE_NAMES.length + STATE_NAMES.indexOf(to);
}
