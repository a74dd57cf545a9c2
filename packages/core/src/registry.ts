import { CircuitBreaker } from './breaker.js';
import { type Clock, systemClock } from './clock.js';
import { type BreakerEventName, type BreakerEvents, type Listener, Listeners } from './events.js';
import { LruList, type LruNode } from './lru.js';
import type { CircuitBreakerOptions } from './options.js';
import { reportProblem } from './report.js';
import type { BreakerMetrics, BreakerState } from './state.js';
import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  rejectUnknownKeys,
  requireObject,
} from './validate.js';

/** What a breaker's being open means for the whole service. */
export type Criticality = 'critical' | 'degraded' | 'warning';

export type HealthStatus = 'healthy' | 'warning' | 'degraded' | 'critical';

export interface BreakerHealth {
  readonly name: string;
  readonly state: BreakerState['name'];
  readonly criticality: Criticality;
  /** What this breaker contributes: its criticality while open, `warning` while half-open or disabled. */
  readonly status: HealthStatus;
}

export interface RegistryHealth {
  /** The worst of the breakers' statuses. */
  readonly status: HealthStatus;
  readonly breakers: readonly BreakerHealth[];
}

export interface RegistrySnapshot {
  readonly takenAt: number;
  readonly breakers: readonly {
    readonly name: string;
    readonly criticality: Criticality;
    /** `until` is null while held open (JSON has no Infinity). */
    readonly state: Record<string, unknown>;
    readonly metrics: BreakerMetrics;
  }[];
}

export interface BreakerRegistryOptions {
  /** Options every breaker made by `get()` starts from. Default none (the breaker's defaults). */
  defaults?: Omit<CircuitBreakerOptions<never>, 'name' | 'initialState'> | undefined;
  /**
   * At most this many breakers made by `get()`; past it the least recently used closed breaker
   * with no failures to remember is dropped. Breakers with state worth keeping are never dropped,
   * so the count can run over while they last. Default unlimited.
   */
  maxBreakers?: number | undefined;
  /** Drops a `get()` breaker unused for this many ms, once it is closed with no failures. Default never. */
  idleTtl?: number | undefined;
  /** Time for `idleTtl`, and the breakers' clock unless `defaults` has one. Default `Date.now`. */
  clock?: Clock | undefined;
  /** The criticality of breakers made by `get()`. Default `'degraded'`. */
  criticality?: Criticality | undefined;
}

interface Entry extends LruNode<Entry> {
  readonly name: string;
  readonly breaker: CircuitBreaker<unknown>;
  readonly criticality: Criticality;
  /** Made by `get()`, so the registry's to drop; `register()`ed breakers never are. */
  readonly owned: boolean;
  lastUsed: number;
  readonly unsubscribe: (() => void)[];
}

const OWNER = 'BreakerRegistry';
const KEYS: ReadonlySet<string> = new Set([
  'defaults',
  'maxBreakers',
  'idleTtl',
  'clock',
  'criticality',
]);
const CRITICALITIES: readonly Criticality[] = ['critical', 'degraded', 'warning'];
const RANK: Readonly<Record<HealthStatus, number>> = {
  healthy: 0,
  warning: 1,
  degraded: 2,
  critical: 3,
};
// Each get() looks at no more than this many expired entries, so no call pays for a backlog.
const SWEEP_PER_CALL = 2;

/**
 * Breakers by name: one per host, tenant or dependency, made on first use from shared
 * defaults, dropped when idle or over `maxBreakers` (only when that loses nothing), rolled
 * up into one health status, and observable through one `on()`.
 */
export class BreakerRegistry {
  private readonly entries = new Map<string, Entry>();
  /** The breakers `get()` made, least recently used first. */
  private readonly lru = new LruList<Entry>();
  private readonly defaults: CircuitBreakerOptions<never>;
  private readonly maxBreakers: number;
  private readonly idleTtl: number;
  private readonly clock: Clock;
  private readonly criticality: Criticality;
  /** With neither limit there is no order of use to keep. */
  private readonly limited: boolean;
  private readonly listeners = new Listeners<BreakerEvents>((error, event) =>
    reportProblem(undefined, OWNER, error, `a registry "${String(event)}" listener threw`),
  );
  private readonly subscribed = new Set<BreakerEventName>();
  private owned = 0;

  constructor(options: BreakerRegistryOptions = {}) {
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KEYS);
    this.clock = options.clock ?? systemClock;
    if (typeof this.clock?.now !== 'function') {
      throw new TypeError(
        `${OWNER}: option "clock" must have a now() method, got ${describeValue(this.clock)}`,
      );
    }
    const defaults = options.defaults ?? {};
    requireObject(`${OWNER} defaults`, defaults);
    for (const key of ['name', 'initialState'] as const) {
      if (key in defaults) {
        throw new TypeError(`${OWNER}: option "defaults" cannot hold "${key}": it is per breaker`);
      }
    }
    this.defaults = { clock: this.clock, ...defaults };
    try {
      new CircuitBreaker({ ...this.defaults, name: 'defaults' }).dispose();
    } catch (error) {
      throw new TypeError(`${OWNER}: option "defaults": ${(error as Error).message}`);
    }
    this.maxBreakers =
      options.maxBreakers === undefined
        ? Number.POSITIVE_INFINITY
        : integerAtLeast(OWNER, 'maxBreakers', options.maxBreakers, 1);
    this.idleTtl =
      options.idleTtl === undefined
        ? Number.POSITIVE_INFINITY
        : durationAtLeast(OWNER, 'idleTtl', options.idleTtl, 1);
    this.criticality = checkCriticality(OWNER, options.criticality ?? 'degraded');
    this.limited =
      this.maxBreakers !== Number.POSITIVE_INFINITY || this.idleTtl !== Number.POSITIVE_INFINITY;
  }

  /** Breakers held now. */
  get size(): number {
    return this.entries.size;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The breaker called `name`, made from the defaults plus `options` the first time; later
   * calls return the same breaker and ignore `options`.
   */
  get(name: string, options?: CircuitBreakerOptions<never>): CircuitBreaker<unknown> {
    const entry = this.entries.get(name);
    if (entry !== undefined) {
      // Without limits there is nothing to keep in order: a lookup is a Map lookup.
      if (entry.owned && this.limited) this.used(entry);
      return entry.breaker;
    }
    checkName(name);
    const breaker = new CircuitBreaker<unknown>({ ...this.defaults, ...options, name });
    const made = this.add(name, breaker, this.criticality, true);
    this.lru.append(made);
    this.owned++;
    if (this.owned > this.maxBreakers) this.evictOne(made);
    if (this.idleTtl !== Number.POSITIVE_INFINITY) this.sweep(made.lastUsed);
    return breaker;
  }

  /** Adds a breaker made elsewhere (the database's, the permission service's ...). It is never dropped. */
  register(
    name: string,
    breaker: CircuitBreaker<unknown>,
    options: { criticality?: Criticality | undefined } = {},
  ): void {
    checkName(name);
    if (!(breaker instanceof CircuitBreaker)) {
      throw new TypeError(
        `${OWNER}.register: "${name}" needs a CircuitBreaker, got ${describeValue(breaker)}`,
      );
    }
    if (this.entries.has(name)) {
      throw new Error(`${OWNER}.register: a breaker called "${name}" is already registered`);
    }
    const criticality = checkCriticality(`${OWNER}.register`, options.criticality ?? 'degraded');
    this.add(name, breaker, criticality, false);
  }

  /** Forgets a breaker; one the registry made is disposed. */
  delete(name: string): boolean {
    const entry = this.entries.get(name);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** The worst status of any breaker, and each breaker's. */
  health(): RegistryHealth {
    let status: HealthStatus = 'healthy';
    const breakers: BreakerHealth[] = [];
    for (const [name, { breaker, criticality }] of this.entries) {
      const state = breaker.state().name;
      const own = statusOf(state, criticality);
      if (RANK[own] > RANK[status]) status = own;
      breakers.push({ name, state, criticality, status: own });
    }
    return { status, breakers };
  }

  /** Every breaker's state and metrics, as plain JSON. */
  snapshot(): RegistrySnapshot {
    return {
      takenAt: this.clock.now(),
      breakers: [...this.entries].map(([name, { breaker, criticality }]) => ({
        name,
        criticality,
        state: jsonSafe(breaker.state()),
        metrics: breaker.metrics(),
      })),
    };
  }

  /** Every breaker's `event`, present and future; the payload names the breaker. */
  on<E extends BreakerEventName>(event: E, listener: Listener<BreakerEvents[E]>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `${OWNER}: on("${event}", listener) needs a function, got ${describeValue(listener)}`,
      );
    }
    const unsubscribe = this.listeners.on(event, listener);
    if (!this.subscribed.has(event)) {
      this.subscribed.add(event);
      for (const entry of this.entries.values()) this.forward(entry, event);
    }
    return unsubscribe;
  }

  /** Drops every breaker and listener; breakers the registry made are disposed. */
  dispose(): void {
    for (const entry of [...this.entries.values()]) this.remove(entry);
    this.listeners.clear();
    this.subscribed.clear();
  }

  private add(
    name: string,
    breaker: CircuitBreaker<unknown>,
    criticality: Criticality,
    owned: boolean,
  ): Entry {
    const entry: Entry = {
      name,
      breaker,
      criticality,
      owned,
      lastUsed: this.clock.now(),
      unsubscribe: [],
      older: undefined,
      newer: undefined,
    };
    this.entries.set(name, entry);
    for (const event of this.subscribed) this.forward(entry, event);
    return entry;
  }

  private forward(entry: Entry, event: BreakerEventName): void {
    entry.unsubscribe.push(
      entry.breaker.on(event, (payload) => this.listeners.emit(event, payload as never)),
    );
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.name);
    for (const unsubscribe of entry.unsubscribe) unsubscribe();
    if (entry.owned) {
      this.lru.remove(entry);
      this.owned--;
      entry.breaker.dispose();
    }
  }

  private used(entry: Entry): void {
    this.lru.use(entry);
    if (this.idleTtl === Number.POSITIVE_INFINITY) return;
    entry.lastUsed = this.clock.now();
    this.sweep(entry.lastUsed);
  }

  /** Drops the oldest breakers idle past `idleTtl`, a few at a time. */
  private sweep(now: number): void {
    for (let looked = 0; looked < SWEEP_PER_CALL; looked++) {
      const oldest = this.lru.oldest;
      if (oldest === undefined || now - oldest.lastUsed < this.idleTtl) return;
      if (forgettable(oldest.breaker)) {
        this.remove(oldest);
      } else {
        // Still worth keeping: back of the line, as if just used.
        oldest.lastUsed = now;
        this.lru.use(oldest);
      }
    }
  }

  /** Over `maxBreakers`: drops the least recently used breaker that has nothing to remember. */
  private evictOne(keep: Entry): void {
    for (let entry = this.lru.oldest; entry !== undefined; entry = entry.newer) {
      if (entry !== keep && forgettable(entry.breaker)) {
        this.remove(entry);
        return;
      }
    }
  }
}

/** Closed with no failures counted: dropping it and making it again later loses nothing. */
function forgettable(breaker: CircuitBreaker<unknown>): boolean {
  const state = breaker.state();
  return state.name === 'closed' && state.failureCount === 0;
}

function statusOf(state: BreakerState['name'], criticality: Criticality): HealthStatus {
  if (state === 'open') return criticality;
  return state === 'closed' ? 'healthy' : 'warning';
}

function jsonSafe(state: BreakerState): Record<string, unknown> {
  return state.name === 'open' && state.until === Number.POSITIVE_INFINITY
    ? { ...state, until: null }
    : { ...state };
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(
      `${OWNER}: a breaker name must be a non-empty string, got ${describeValue(name)}`,
    );
  }
}

function checkCriticality(owner: string, value: unknown): Criticality {
  if (!CRITICALITIES.includes(value as Criticality)) {
    throw new TypeError(
      `${owner}: criticality must be "critical", "degraded" or "warning", got ${describeValue(value)}`,
    );
  }
  return value as Criticality;
}
