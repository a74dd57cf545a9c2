import type { CircuitBreaker } from '../breaker.js';
import type { BreakerRegistry } from '../registry.js';
import type { BreakerMetrics } from '../state.js';
import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '../validate.js';
import {
  AUTOMATIC_TRANSITIONS,
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  circuitStateIndex,
  healthRank,
  OTHER,
  TRANSITION_PAIRS,
} from './labels.js';

/** Where each outcome's count is in core's metrics, in the order of CALL_OUTCOMES. */
const CALL_FIELDS = [
  'successfulRequests',
  'failedRequests',
  'ignoredErrors',
  'rejectedRequests',
  'timeouts',
  'fallbacks',
] as const satisfies readonly (keyof BreakerMetrics)[];

/** What the observer reads of a registry. */
export type ObservedRegistry = Pick<BreakerRegistry, 'forEach' | 'find'>;

export interface RegistryObserverOptions<S> {
  /** Breakers with series of their own, at most, at any time; the rest are summed as `_other`. Default 1000. */
  maxBreakers?: number | undefined;
  /**
   * Makes what the caller keeps for one series (label sets, histogram series): called once per
   * breaker given series of its own, with its name, and once with `_other` when first needed.
   */
  series: (name: string) => S;
  /** Called with a breaker's series once a walk finds the breaker gone: drop them. */
  released?: ((series: S) => void) | undefined;
}

/**
 * One series' values at a walk. The object is reused: read it inside the visit, keep nothing.
 * For `_other`, `states` counts the breakers past maxBreakers in each state now, and `calls` and
 * `transitions` are running totals of what they did (they never go down).
 */
export interface BreakerReading<S> {
  /** The breaker's registry name, or `_other`. */
  readonly name: string;
  readonly series: S;
  /** The breaker; undefined for `_other`. */
  readonly breaker: CircuitBreaker<unknown> | undefined;
  /** In the order of CIRCUIT_STATES: 1 at the breaker's state, 0 elsewhere. */
  readonly states: Float64Array;
  /** In the order of CALL_OUTCOMES. */
  readonly calls: Float64Array;
  /** In the order of TRANSITION_PAIRS. */
  readonly transitions: Float64Array;
  /** -1 when core has none (no window, below minimumCalls) and always for `_other`. */
  readonly failureRate: number;
  readonly slowCallRate: number;
  /**
   * Whether the pair at `index` of TRANSITION_PAIRS is to be exported: the four automatic pairs
   * always, any other once its count was above 0 for this series (then also at 0 after a reset).
   */
  shows(index: number): boolean;
}

/** What one walk found. */
export interface WalkSummary {
  /** `registry.health().status` as a rank: 0 healthy, 1 warning, 2 degraded, 3 critical. */
  readonly health: number;
  /** Breakers walked. */
  readonly breakers: number;
  /** Of them, the ones summed as `_other`. */
  readonly overflow: number;
}

const OWNER = 'RegistryObserver';
// A breaker first seen between walks with every own place taken looks at this many of the
// oldest holders for one that left: bounded work, and a registry that drops breakers between
// scrapes (LRU, idleTtl) does not push its newcomers into _other while it is under maxBreakers.
const LEFT_SCAN = 16;
const KEYS: ReadonlySet<string> = new Set(['maxBreakers', 'series', 'released']);

class Reading<S> implements BreakerReading<S> {
  name = '';
  breaker: CircuitBreaker<unknown> | undefined = undefined;
  readonly states = new Float64Array(CIRCUIT_STATES.length);
  readonly calls = new Float64Array(CALL_OUTCOMES.length);
  readonly transitions = new Float64Array(TRANSITION_PAIRS.length);
  failureRate = -1;
  slowCallRate = -1;
  shown = AUTOMATIC_TRANSITIONS;

  constructor(public series: S) {}

  shows(index: number): boolean {
    return (this.shown & (1 << index)) !== 0;
  }
}

/** A breaker given series of its own, for its life. */
class OwnSlot<S> {
  /** The transition pairs shown so far: a mask over TRANSITION_PAIRS. */
  shown = AUTOMATIC_TRANSITIONS;

  constructor(
    readonly breaker: CircuitBreaker<unknown>,
    readonly name: string,
    readonly series: S,
  ) {}
}

/**
 * A breaker summed into `_other`, for its life, with what it had done at the last walk, so that
 * `_other` adds only what is new. Plain fields, not an array: a registry of 100,000 per-key
 * breakers holds one of these for each breaker past maxBreakers.
 */
class PastSlot {
  success = 0;
  failure = 0;
  ignored = 0;
  rejected = 0;
  timeout = 0;
  fallback = 0;
  /** Once the breaker ever changed state: its transitions at the last walk. */
  transitions: Uint32Array | undefined = undefined;
}

type Slot<S> = OwnSlot<S> | PastSlot;

/**
 * Walks a registry for a metrics exporter (see index.ts for the contract): each of at most
 * `maxBreakers` breakers gets series of its own, for its whole life; the rest add to `_other`.
 */
export class RegistryObserver<S> {
  private readonly maxBreakers: number;
  private readonly makeSeries: (name: string) => S;
  private readonly released: ((series: S) => void) | undefined;
  private readonly slots = new WeakMap<CircuitBreaker<unknown>, Slot<S>>();
  /** The breakers with series of their own, by name: never more than maxBreakers. */
  private readonly own = new Map<string, OwnSlot<S>>();
  /** The own series' reading, reused for each of them. */
  private reading: Reading<S> | undefined;
  /** `_other`'s series and running totals; made when a breaker first falls past maxBreakers. */
  private other: Reading<S> | undefined;
  /** A walk frees every departed holder first, so it needs no scan per newcomer. */
  private walking = false;

  constructor(
    private readonly registry: ObservedRegistry,
    options: RegistryObserverOptions<S>,
  ) {
    for (const method of ['forEach', 'find'] as const) {
      if (typeof (registry as Partial<ObservedRegistry> | null)?.[method] !== 'function') {
        throw new TypeError(
          `${OWNER}: the registry must have a ${method}() method, got ${describeValue(registry)}`,
        );
      }
    }
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KEYS);
    this.maxBreakers = integerAtLeast(
      OWNER,
      'maxBreakers',
      orDefault(options.maxBreakers, 1000),
      0,
    );
    if (typeof options.series !== 'function') {
      throw new TypeError(
        `${OWNER}: option "series" must be a function (name) => series, got ${describeValue(options.series)}`,
      );
    }
    if (options.released !== undefined && typeof options.released !== 'function') {
      throw new TypeError(
        `${OWNER}: option "released" must be a function (series) => void, got ${describeValue(options.released)}`,
      );
    }
    this.makeSeries = options.series;
    this.released = options.released;
  }

  /**
   * Assigns every breaker held now, in registry order, reading nothing: a caller that also
   * times calls (`seriesOf`) calls it once at the start, so the first `maxBreakers` in registry
   * order get their own series rather than the first called.
   */
  prime(): void {
    this.registry.forEach((breaker, name) => {
      this.slotOf(breaker, name);
    });
  }

  /**
   * The series a call of breaker `name` is recorded under (its own, or `_other`'s), for
   * listeners of call events; undefined when the registry no longer holds the breaker.
   */
  seriesOf(name: string): S | undefined {
    const breaker = this.registry.find(name);
    if (breaker === undefined) return undefined;
    const slot = this.slotOf(breaker, name);
    return slot instanceof PastSlot ? this.otherReading().series : slot.series;
  }

  /**
   * Reads every breaker once: `visit` gets each own series, then `_other` (from the first walk
   * that needed it, and at every walk after it, so its counters never vanish).
   */
  walk(visit: (reading: BreakerReading<S>) => void): WalkSummary {
    this.releaseDeparted();
    this.other?.states.fill(0);
    let health = 0;
    let breakers = 0;
    let overflow = 0;
    this.walking = true;
    try {
      this.registry.forEach((breaker, name, criticality) => {
        breakers++;
        const slot = this.slotOf(breaker, name);
        const state = breaker.state();
        const rank = healthRank(state.name, criticality);
        if (rank > health) health = rank;
        if (slot instanceof PastSlot) {
          overflow++;
          this.addToOther(breaker, slot, circuitStateIndex(state));
        } else {
          visit(this.readOwn(slot, circuitStateIndex(state)));
        }
      });
    } finally {
      this.walking = false;
    }
    if (this.other !== undefined) visit(this.other);
    return { health, breakers, overflow };
  }

  private readOwn(slot: OwnSlot<S>, state: number): Reading<S> {
    this.reading ??= new Reading(slot.series);
    const reading = this.reading;
    const { breaker } = slot;
    reading.name = slot.name;
    reading.series = slot.series;
    reading.breaker = breaker;
    reading.states.fill(0);
    reading.states[state] = 1;
    const metrics = breaker.metrics();
    const { calls, transitions } = reading;
    for (let i = 0; i < CALL_FIELDS.length; i++) calls[i] = metrics[CALL_FIELDS[i] as CallField];
    // A breaker that never changed state (most per-key ones) needs none of the 16 lookups.
    if (breaker.lastTransition() === undefined) {
      transitions.fill(0);
    } else {
      for (let i = 0; i < TRANSITION_PAIRS.length; i++) {
        const [from, to] = TRANSITION_PAIRS[i] as (typeof TRANSITION_PAIRS)[number];
        const count = breaker.transitionCount(from, to);
        transitions[i] = count;
        if (count > 0) slot.shown |= 1 << i;
      }
    }
    reading.shown = slot.shown;
    reading.failureRate = metrics.failureRate;
    reading.slowCallRate = metrics.slowCallRate;
    return reading;
  }

  /** Adds what the breaker did since the last walk; a count that went down was reset: all of it is new. */
  private addToOther(breaker: CircuitBreaker<unknown>, slot: PastSlot, state: number): void {
    const other = this.otherReading();
    other.states[state] = (other.states[state] as number) + 1;
    const m = breaker.metrics();
    const { calls } = other;
    calls[0] = (calls[0] as number) + increase(slot.success, m.successfulRequests);
    calls[1] = (calls[1] as number) + increase(slot.failure, m.failedRequests);
    calls[2] = (calls[2] as number) + increase(slot.ignored, m.ignoredErrors);
    calls[3] = (calls[3] as number) + increase(slot.rejected, m.rejectedRequests);
    calls[4] = (calls[4] as number) + increase(slot.timeout, m.timeouts);
    calls[5] = (calls[5] as number) + increase(slot.fallback, m.fallbacks);
    slot.success = m.successfulRequests;
    slot.failure = m.failedRequests;
    slot.ignored = m.ignoredErrors;
    slot.rejected = m.rejectedRequests;
    slot.timeout = m.timeouts;
    slot.fallback = m.fallbacks;
    if (slot.transitions === undefined) {
      if (breaker.lastTransition() === undefined) return;
      slot.transitions = new Uint32Array(TRANSITION_PAIRS.length);
    }
    const { transitions } = other;
    for (let i = 0; i < TRANSITION_PAIRS.length; i++) {
      const [from, to] = TRANSITION_PAIRS[i] as (typeof TRANSITION_PAIRS)[number];
      const count = breaker.transitionCount(from, to);
      transitions[i] = (transitions[i] as number) + increase(slot.transitions[i] as number, count);
      slot.transitions[i] = count;
      if ((transitions[i] as number) > 0) other.shown |= 1 << i;
    }
  }

  /** The breaker's slot, made the first time it is seen, for good. */
  private slotOf(breaker: CircuitBreaker<unknown>, name: string): Slot<S> {
    const known = this.slots.get(breaker);
    if (known !== undefined) return known;
    // Names are unique in a registry: a slot held under this name is a breaker that left.
    const previous = this.own.get(name);
    if (previous !== undefined) this.release(previous);
    else if (!this.walking && this.own.size >= this.maxBreakers) this.releaseDeparted(LEFT_SCAN);
    let slot: Slot<S>;
    if (this.own.size < this.maxBreakers) {
      const own = new OwnSlot(breaker, name, this.makeSeries(name));
      this.own.set(name, own);
      slot = own;
    } else {
      slot = new PastSlot();
    }
    this.slots.set(breaker, slot);
    return slot;
  }

  /** Frees the own series of breakers no longer held, looking at the `limit` oldest holders. */
  private releaseDeparted(limit = Number.POSITIVE_INFINITY): void {
    let looked = 0;
    for (const slot of this.own.values()) {
      if (looked++ >= limit) return;
      if (this.registry.find(slot.name) !== slot.breaker) this.release(slot);
    }
  }

  private release(slot: OwnSlot<S>): void {
    this.own.delete(slot.name);
    this.slots.delete(slot.breaker);
    this.released?.(slot.series);
  }

  private otherReading(): Reading<S> {
    if (this.other === undefined) {
      this.other = new Reading(this.makeSeries(OTHER));
      this.other.name = OTHER;
    }
    return this.other;
  }
}

/** What a counter gained since `last`: all of `current` when it went down (a reset). */
function increase(last: number, current: number): number {
  return current >= last ? current - last : current;
}

type CallField = (typeof CALL_FIELDS)[number];
