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
  pairIndex,
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
export type ObservedRegistry = Pick<BreakerRegistry, 'forEach' | 'find' | 'size'>;

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
// A breaker first seen between walks with every own place taken, in a registry holding more
// than maxBreakers, looks at this many holders for one that left (see reclaim()).
const LEFT_SCAN = 16;
const CLOSED_OPEN = pairIndex('closed', 'open');
const OPEN_HALF_OPEN = pairIndex('open', 'half_open');
const HALF_OPEN_OPEN = pairIndex('half_open', 'open');
const HALF_OPEN_CLOSED = pairIndex('half_open', 'closed');
/** The pairs only an operator's control or disable() makes. */
const MANUAL_PAIRS = TRANSITION_PAIRS.flatMap((_, i) =>
  (AUTOMATIC_TRANSITIONS & (1 << i)) === 0 ? [i] : [],
);
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
 * `_other` adds only what is new. Plain fields, not arrays: a registry of 100,000 per-key
 * breakers holds one of these for each breaker past maxBreakers, and a typed array would more
 * than double its size.
 */
class PastSlot {
  success = 0;
  failure = 0;
  ignored = 0;
  rejected = 0;
  timeout = 0;
  fallback = 0;
  /** The automatic pairs, the only ones most breakers ever take. */
  opened = 0;
  probed = 0;
  reopened = 0;
  recovered = 0;
  /** The other pairs, in MANUAL_PAIRS order: made once one of them happened. */
  manual: number[] | undefined = undefined;
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
  /** `_other`'s series and running totals; made at the first walk or the first overflow. */
  private other: Reading<S> | undefined;
  /** A walk frees every departed holder first, so it needs no scan per newcomer. */
  private walking = false;
  /** Where the last look between walks for a holder that left stopped: the next goes on from there. */
  private cursor: Iterator<OwnSlot<S>> | undefined;

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
    if (typeof registry.size !== 'number') {
      throw new TypeError(
        `${OWNER}: the registry must have a numeric size, got ${describeValue(registry.size)}`,
      );
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
   * Reads every breaker once: `visit` gets each own series, then `_other`, at every walk from the
   * first (at 0 until a breaker falls past maxBreakers), so that `increase()` sees its first
   * opening and its counters never vanish.
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
    visit(this.otherReading());
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
    // A breaker that never changed state (most per-key ones) needs none of the 16 lookups.
    if (breaker.lastTransition() === undefined) return;
    const { transitions } = other;
    slot.opened = addPair(transitions, CLOSED_OPEN, slot.opened, breaker);
    slot.probed = addPair(transitions, OPEN_HALF_OPEN, slot.probed, breaker);
    slot.reopened = addPair(transitions, HALF_OPEN_OPEN, slot.reopened, breaker);
    slot.recovered = addPair(transitions, HALF_OPEN_CLOSED, slot.recovered, breaker);
    for (let j = 0; j < MANUAL_PAIRS.length; j++) {
      const i = MANUAL_PAIRS[j] as number;
      if (slot.manual === undefined) {
        const [from, to] = TRANSITION_PAIRS[i] as (typeof TRANSITION_PAIRS)[number];
        if (breaker.transitionCount(from, to) === 0) continue;
        slot.manual = new Array<number>(MANUAL_PAIRS.length).fill(0);
      }
      slot.manual[j] = addPair(transitions, i, slot.manual[j] as number, breaker);
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
    else if (!this.walking && this.own.size >= this.maxBreakers) this.reclaim();
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

  /** Frees the own series of every breaker no longer held. */
  private releaseDeparted(): void {
    for (const slot of this.own.values()) {
      if (this.registry.find(slot.name) !== slot.breaker) this.release(slot);
    }
  }

  /**
   * Between walks, for a newcomer that found every own place taken: frees the first holder that
   * left, looking on from where the last look stopped, so that over successive newcomers every
   * holder is looked at in turn, wherever it sits (an LRU registry drops its cold keys, which need
   * not be the oldest holders). While the registry holds no more than maxBreakers, one of the
   * holders must have left and the look goes on until it is found: at most maxBreakers lookups,
   * and the cursor makes a round of newcomers pass each live holder about once. Past maxBreakers
   * the newcomer may well belong in `_other`, so it looks at 16 holders at most.
   */
  private reclaim(): void {
    const budget =
      this.registry.size <= this.maxBreakers ? this.own.size : Math.min(LEFT_SCAN, this.own.size);
    for (let looked = 0; looked < budget; looked++) {
      let next = this.cursor?.next();
      if (next === undefined || next.done === true) {
        // A Map iterator that reached the end stays there: start a new round.
        this.cursor = this.own.values();
        next = this.cursor.next();
        if (next.done === true) return;
      }
      const slot = next.value;
      if (this.registry.find(slot.name) !== slot.breaker) {
        this.release(slot);
        return;
      }
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

/** Adds to `_other`'s pair `index` what the breaker's count of it gained; returns the count. */
function addPair(
  transitions: Float64Array,
  index: number,
  last: number,
  breaker: CircuitBreaker<unknown>,
): number {
  const [from, to] = TRANSITION_PAIRS[index] as (typeof TRANSITION_PAIRS)[number];
  const count = breaker.transitionCount(from, to);
  transitions[index] = (transitions[index] as number) + increase(last, count);
  return count;
}

/** What a counter gained since `last`: all of `current` when it went down (a reset). */
function increase(last: number, current: number): number {
  return current >= last ? current - last : current;
}

type CallField = (typeof CALL_FIELDS)[number];
