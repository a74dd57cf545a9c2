/**
 * `@breakwater/core/observe`: the registry walk shared by the metrics exporters
 * (@breakwater/prometheus, @breakwater/opentelemetry). Zero dependencies; it reads the
 * breakers when asked and subscribes to nothing, so the call path pays nothing.
 *
 * API (kept stable):
 *
 *   const observer = new RegistryObserver<S>(registry, {
 *     maxBreakers?: number,            // default 1000, integer >= 0
 *     series: (name: string) => S,     // what you keep per series (label sets...); called once per
 *                                      // breaker given its own series, and once with '_other'
 *     released?: (series: S) => void,  // a breaker with its own series left the registry
 *   });
 *   observer.walk((reading: BreakerReading<S>) => { ... }): WalkSummary
 *     // visit: each own series (registry order), then `_other` at every walk from the first (at 0
 *     // before any breaker fell past maxBreakers). `reading` is REUSED: read it in the visit.
 *     // reading.name (breaker name or '_other'), .series (your S), .breaker (undefined for _other),
 *     // .states: Float64Array in CIRCUIT_STATES order (own: 1 at its state; _other: how many of
 *     //   the breakers past maxBreakers are in each state now),
 *     // .calls: Float64Array in CALL_OUTCOMES order, .transitions: Float64Array in
 *     //   TRANSITION_PAIRS order (for _other: monotonic running totals),
 *     // .shows(i): export TRANSITION_PAIRS[i]? (AUTOMATIC_TRANSITIONS always, from the first
 *     //   walk, at 0; any other pair once its count was > 0 for this series, 0 after a reset too),
 *     // .failureRate / .slowCallRate: -1 = absent (always -1 for _other).
 *     // WalkSummary: { health: 0..3 (core's registry.health() rank; HEALTH_STATUSES[health]),
 *     //   breakers: walked, overflow: how many of them are summed as _other (warn when > 0) }.
 *   observer.seriesOf(name): S | undefined
 *     // for call-event listeners (durations): the breaker's own S or _other's; undefined when
 *     // the registry no longer holds it. Assigns a breaker first seen here, as a walk would.
 *   observer.prime(): void
 *     // assigns every breaker held now in registry order (call once when also using seriesOf).
 *
 * Semantics: own vs `_other` is decided once per breaker object when first seen (walk, prime or
 * seriesOf) and kept for its life: own while fewer than maxBreakers breakers hold own series.
 * A walk first frees the own series of breakers no longer in the registry (`released`); between
 * walks, a newcomer finding every place taken looks for a holder that left, on from where the
 * last look stopped: until it finds one while the registry holds no more than maxBreakers (one
 * must have left; at most maxBreakers lookups), at most 16 holders past that. A breaker made
 * again later is a new object, assigned afresh (its old namesake's series released). So own series never exceed
 * maxBreakers and no breaker moves between its own series and `_other`. `_other` adds each of
 * its breakers' increase since the last walk (a count that went down was a reset: all of it is
 * new); what departed breakers did up to the last walk that saw them stays in the totals.
 */
export {
  AUTOMATIC_TRANSITIONS,
  CALL_OUTCOMES,
  type CallOutcome,
  CIRCUIT_STATES,
  type CircuitState,
  circuitStateIndex,
  HEALTH_STATUSES,
  healthRank,
  OTHER,
  TRANSITION_PAIRS,
} from './labels.js';
export {
  type BreakerReading,
  type ObservedRegistry,
  RegistryObserver,
  type RegistryObserverOptions,
  type WalkSummary,
} from './registry-observer.js';
