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
  orDefault,
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
  /** When `get()` last returned it, or the sweep last saw it busy. */
  lastUsed: number;
  /** Its call count when last looked at: calls through a held reference are use too. */
  seen: number;
  /** Unsubscribes its forwarding to registry listeners, per event; made on first need. */
  forwarders: Map<BreakerEventName, () => void> | undefined;
}

const OWNER = 'BreakerRegistry';
const KEYS: ReadonlySet<string> = new Set([
  'defaults',
  'maxBreakers',
  'idleTtl',
  'clock',
  'criticality',
]);
const REGISTER_KEYS: ReadonlySet<string> = new Set(['criticality']);
const CRITICALITIES: readonly Criticality[] = ['critical', 'degraded', 'warning'];
const RANK: Readonly<Record<HealthStatus, number>> = {
  healthy: 0,
  warning: 1,
  degraded: 2,
  critical: 3,
};
// Each get() looks at no more than this many expired entries, and an eviction at no more than
// this many candidates, so no call pays for a backlog.
const SWEEP_PER_CALL = 2;
const EVICTION_SCAN = 16;

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
  /** Registry listeners per event: while there are any, every breaker forwards it. */
  private readonly subscribed = new Map<BreakerEventName, number>();
  private owned = 0;
  private changes = 0;

  constructor(options: BreakerRegistryOptions = {}) {
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KEYS);
    this.clock = orDefault(options.clock, systemClock);
    if (typeof this.clock?.now !== 'function') {
      throw new TypeError(
        `${OWNER}: option "clock" must have a now() method, got ${describeValue(this.clock)}`,
      );
    }
    const defaults = orDefault(options.defaults, {});
    requireObject(`${OWNER} defaults`, defaults);
    for (const key of ['name', 'initialState'] as const) {
      if (key in defaults) {
        throw new TypeError(`${OWNER}: option "defaults" cannot hold "${key}": it is per breaker`);
      }
    }
    this.defaults = { ...defaults, clock: defaults.clock ?? this.clock };
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
    this.criticality = checkCriticality(OWNER, orDefault(options.criticality, 'degraded'));
    this.limited =
      this.maxBreakers !== Number.POSITIVE_INFINITY || this.idleTtl !== Number.POSITIVE_INFINITY;
  }

  /** Breakers held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Goes up each time a breaker is added or removed (made, registered, deleted, dropped): an
   * observer that cached a view of the registry knows it is stale, even when a swap left the
   * size as it was.
   */
  get version(): number {
    return this.changes;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The breaker held under `name`, or undefined: unlike `get()` it never makes one and does not
   * count as use, so an observer (a dashboard, a metrics scrape) keeps nothing alive.
   */
  find(name: string): CircuitBreaker<unknown> | undefined {
    return this.entries.get(name)?.breaker;
  }

  /** The criticality of the breaker held under `name`, or undefined; like `find()`, not use. */
  criticalityOf(name: string): Criticality | undefined {
    return this.entries.get(name)?.criticality;
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
    // Its events carry its own name: under another, health() and events would disagree.
    if (breaker.name !== name) {
      throw new TypeError(
        `${OWNER}.register: the breaker is called "${breaker.name}", not "${name}"`,
      );
    }
    requireObject(`${OWNER}.register`, options);
    rejectUnknownKeys(`${OWNER}.register`, options, REGISTER_KEYS);
    if (this.entries.has(name)) {
      throw new Error(`${OWNER}.register: a breaker called "${name}" is already registered`);
    }
    const criticality = checkCriticality(
      `${OWNER}.register`,
      orDefault(options.criticality, 'degraded'),
    );
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

  /**
   * Calls `visit` with every breaker held now, in the order they were added, without copying
   * the registry: a scrape of 100,000 breakers allocates nothing for the walk itself.
   */
  forEach(
    visit: (breaker: CircuitBreaker<unknown>, name: string, criticality: Criticality) => void,
  ): void {
    for (const entry of this.entries.values()) visit(entry.breaker, entry.name, entry.criticality);
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
    const off = this.listeners.on(event, listener);
    const count = (this.subscribed.get(event) ?? 0) + 1;
    this.subscribed.set(event, count);
    if (count === 1) for (const entry of this.entries.values()) this.forward(entry, event);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      off();
      const left = (this.subscribed.get(event) ?? 1) - 1;
      if (left > 0) {
        this.subscribed.set(event, left);
        return;
      }
      // The last one gone: breakers stop forwarding, and may go back to their fast path.
      this.subscribed.delete(event);
      for (const entry of this.entries.values()) {
        entry.forwarders?.get(event)?.();
        entry.forwarders?.delete(event);
      }
    };
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
      seen: 0,
      forwarders: undefined,
      older: undefined,
      newer: undefined,
    };
    this.entries.set(name, entry);
    this.changes++;
    for (const event of this.subscribed.keys()) this.forward(entry, event);
    return entry;
  }

  private forward(entry: Entry, event: BreakerEventName): void {
    entry.forwarders ??= new Map();
    entry.forwarders.set(
      event,
      entry.breaker.on(event, (payload) => this.listeners.emit(event, payload as never)),
    );
  }

  /** Forgets `entry`, unless it is already gone (a listener may have removed it meanwhile). */
  private remove(entry: Entry): void {
    if (this.entries.get(entry.name) !== entry) return;
    this.entries.delete(entry.name);
    this.changes++;
    for (const unsubscribe of entry.forwarders?.values() ?? []) unsubscribe();
    entry.forwarders = undefined;
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

  /**
   * Drops the oldest breakers idle past `idleTtl`, a few at a time. Idle means neither looked
   * up nor called; an operator's choice (held open, disabled) is kept.
   */
  private sweep(now: number): void {
    for (let looked = 0; looked < SWEEP_PER_CALL; looked++) {
      const oldest = this.lru.oldest;
      if (oldest === undefined || now - oldest.lastUsed < this.idleTtl) return;
      const calls = oldest.breaker.metrics().totalRequests;
      // Reading the state may move it to half-open, and its listeners may change the registry.
      const drop = calls === oldest.seen && !operatorHeld(oldest.breaker);
      if (this.entries.get(oldest.name) !== oldest) continue;
      if (drop) {
        this.remove(oldest);
      } else {
        oldest.seen = calls;
        oldest.lastUsed = now;
        this.lru.use(oldest);
      }
    }
  }

  /**
   * Over `maxBreakers`: drops the least recently used breaker that has nothing to remember,
   * looking at a few of the oldest; with none among them the registry runs over for now.
   */
  private evictOne(keep: Entry): void {
    let entry = this.lru.oldest;
    for (let looked = 0; entry !== undefined && looked < EVICTION_SCAN; looked++) {
      const next: Entry | undefined = entry.newer;
      if (entry !== keep && forgettable(entry.breaker) && this.entries.get(entry.name) === entry) {
        this.remove(entry);
        return;
      }
      entry = next;
    }
  }
}

/**
 * Closed with no failures counted, consecutive or in its rate window: dropping it and making
 * it again later loses nothing.
 */
function forgettable(breaker: CircuitBreaker<unknown>): boolean {
  const state = breaker.state();
  if (state.name !== 'closed' || state.failureCount !== 0) return false;
  const { failureRate, slowCallRate } = breaker.metrics();
  return failureRate <= 0 && slowCallRate <= 0;
}

/** Held open or disabled by an operator: never dropped for being idle. */
function operatorHeld(breaker: CircuitBreaker<unknown>): boolean {
  const state = breaker.state();
  return state.name === 'disabled' || (state.name === 'open' && state.forced);
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
