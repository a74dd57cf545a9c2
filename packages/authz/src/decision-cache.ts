import { type Clock, systemClock } from '@breakwater/core';
import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { checkKey } from './cache-key.js';
import { matchesGlob } from './glob.js';
import type { CheckRequest } from './types.js';
import { validateCheckRequest } from './validate-request.js';

export interface DecisionCacheOptions {
  /** ms an allow answers checks. Default 300 000 (5 min). */
  ttl?: number | undefined;
  /** ms a decision is kept for the `useCachedRules` fallback, fresh or not. Default 1 800 000. */
  staleTtl?: number | undefined;
  /** Decisions held; past it the least recently used goes. Default 10 000. */
  maxEntries?: number | undefined;
  /** Cache denies too (for `negativeTtl`). Default false. */
  cacheNegative?: boolean | undefined;
  /** ms a deny answers checks, with `cacheNegative`. Default 30 000. */
  negativeTtl?: number | undefined;
  /** Where the cache gets the time; `ManualClock` in tests. */
  clock?: Clock | undefined;
}

export interface DecisionCacheStats {
  readonly entries: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  /** hits / (hits + misses); 0 before any lookup. */
  readonly hitRate: number;
}

/**
 * A place in a cache's order of asks and the time it was taken on the cache's clock, from
 * {@link DecisionCache.begin}: take one when a call to SpiceDB starts, and give it back with the
 * answer. The order says which answer is newer (clock steps cannot reorder it); the time is
 * where the answer's age starts.
 */
export interface DecisionTicket {
  readonly order: number;
  readonly at: number;
}

/**
 * One cached decision, with its links in the use order, and to the next entry for the same
 * subject and resource with another permission (there are a handful at most: only permissions
 * the schema has are answered, so only they are cached).
 */
interface Entry {
  readonly subject: string;
  readonly resource: string;
  readonly permission: string;
  allowed: boolean;
  /** The ticket order of the answer held: an allow asked before it does not replace it. */
  order: number;
  /** When SpiceDB was asked (not when it answered), on the cache's clock: age runs from it. */
  at: number;
  older: Entry | undefined;
  newer: Entry | undefined;
  sibling: Entry | undefined;
}

const OWNER = 'DecisionCache';
const KNOWN = new Set(['ttl', 'staleTtl', 'maxEntries', 'cacheNegative', 'negativeTtl', 'clock']);

/**
 * Recent SpiceDB decisions, by exact (subject, resource, permission), bounded by `maxEntries`
 * with least-recently-used eviction. An allow answers for `ttl`, a deny (only with
 * `cacheNegative`) for `negativeTtl`; past that a decision is still kept, up to `staleTtl`, for
 * the `useCachedRules` fallback to read while SpiceDB cannot answer ({@link getStale}).
 *
 * Answers are ordered by {@link begin} tickets, never by the clock: a deny removes (or, with
 * `cacheNegative`, overwrites) any allow held, and no allow asked before a deny is stored after
 * it, so a slow, older allow cannot undo a revoke. Memory stays bounded: when the cache must
 * forget a deny, it raises a floor below which no allow is stored. An invalidation raises the
 * floor to every call begun so far, so answers still in flight are not stored either.
 *
 * The cache does not look at a check's consistency: the service asks first, and neither reads
 * nor fills the cache for `fully_consistent` or `atLeastAsFresh` checks (their denies only
 * {@link forget}).
 */
export class DecisionCache {
  private readonly ttl: number;
  private readonly staleTtl: number;
  private readonly maxEntries: number;
  private readonly cacheNegative: boolean;
  private readonly negativeTtl: number;
  private readonly clock: Clock;
  // subject -> resource -> the entries for their permissions. Nested maps, not one map by
  // checkKey(req): a hit builds and hashes no key string, which is most of a lookup's cost.
  private readonly bySubject = new Map<string, Map<string, Entry>>();
  private count = 0;
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  /** The last ticket order handed out. */
  private tickets = 0;
  /** No allow asked at or before this order is stored (an invalidation, a deny forgotten). */
  private floor = 0;
  /**
   * The order of the latest deny of each recently denied check, by checkKey, oldest first: an
   * allow asked before it is not stored. Kept apart from the entries, so evicting an entry
   * forgets no deny; bounded like them, and what falls off raises the floor instead.
   */
  private readonly deniedAt = new Map<string, number>();

  constructor(options: DecisionCacheOptions = {}) {
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KNOWN);
    this.ttl = integerAtLeast(OWNER, 'ttl', orDefault(options.ttl, 300_000), 1);
    this.negativeTtl = integerAtLeast(
      OWNER,
      'negativeTtl',
      orDefault(options.negativeTtl, 30_000),
      1,
    );
    this.staleTtl = integerAtLeast(OWNER, 'staleTtl', orDefault(options.staleTtl, 1_800_000), 1);
    if (this.staleTtl < this.ttl) {
      throw new RangeError(
        `${OWNER}: option "staleTtl" (${this.staleTtl}) must be at least "ttl" (${this.ttl}): a decision is kept at least as long as it answers checks`,
      );
    }
    this.maxEntries = integerAtLeast(OWNER, 'maxEntries', orDefault(options.maxEntries, 10_000), 1);
    const cacheNegative = orDefault<unknown>(options.cacheNegative, false);
    if (typeof cacheNegative !== 'boolean') {
      throw new TypeError(
        `${OWNER}: option "cacheNegative" must be a boolean, got ${describeValue(cacheNegative)}`,
      );
    }
    this.cacheNegative = cacheNegative;
    if (cacheNegative && this.staleTtl < this.negativeTtl) {
      throw new RangeError(
        `${OWNER}: option "staleTtl" (${this.staleTtl}) must be at least "negativeTtl" (${this.negativeTtl}) with cacheNegative: a decision is kept at least as long as it answers checks`,
      );
    }
    const clock = orDefault<unknown>(options.clock, systemClock);
    if (
      typeof clock !== 'object' ||
      clock === null ||
      typeof (clock as { now?: unknown }).now !== 'function'
    ) {
      throw new TypeError(
        `${OWNER}: option "clock" must be a Clock, an object with a now() method, got ${describeValue(clock)}`,
      );
    }
    this.clock = clock as Clock;
  }

  /**
   * The fresh decision for `req` (an allow younger than `ttl`, a deny younger than
   * `negativeTtl`), or undefined; counts a hit or a miss, and a hit marks the entry the most
   * recently used.
   */
  get(req: CheckRequest): boolean | undefined {
    return this.getTuple(req.subject, req.resource, req.permission);
  }

  /**
   * @internal {@link get} by the three strings, for a caller that has read them once already
   * (the service's hot path: what it looked up is then exactly what it announces). With `count`
   * false the lookup is not counted: a caller deciding later counts it with {@link countLookups}.
   */
  getTuple(
    subject: string,
    resource: string,
    permission: string,
    count = true,
  ): boolean | undefined {
    const entry = this.findTuple(subject, resource, permission);
    if (entry !== undefined) {
      const age = this.clock.now() - entry.at;
      if (age >= 0 && age < (entry.allowed ? this.ttl : this.negativeTtl)) {
        if (count) this.hits++;
        this.use(entry);
        return entry.allowed;
      }
      this.keeps(entry, age);
    }
    if (count) this.misses++;
    return undefined;
  }

  /**
   * @internal Counts lookups made with `getTuple(..., false)`, once the caller is sure they
   * decided checks (a `checkMany` that rejects decides nothing, so counts nothing).
   */
  countLookups(hits: number, misses: number): void {
    this.hits += hits;
    this.misses += misses;
  }

  /**
   * The last decision for `req` while it is younger than `staleTtl`, fresh or expired, or
   * undefined: what the `useCachedRules` fallback answers from. Counts nothing, moves nothing.
   */
  getStale(req: CheckRequest): boolean | undefined {
    const entry = this.find(req);
    if (entry === undefined) return undefined;
    return this.keeps(entry, this.clock.now() - entry.at) ? entry.allowed : undefined;
  }

  /**
   * A ticket for a call about to ask SpiceDB: give it to {@link set} or {@link forget} with the
   * answer. Each is later in the order than every ticket before it.
   */
  begin(): DecisionTicket {
    return { order: ++this.tickets, at: this.clock.now() };
  }

  /**
   * Whether an allow to `req` asked with `ticket` may still be stored: nothing since it was taken
   * bars it (an invalidation, a deny the cache had to forget, a deny of `req` asked no earlier).
   * A check made now may share such a call; one begun before an invalidation or a deny may
   * answer from before the change it announced.
   */
  isCurrent(ticket: DecisionTicket, req: CheckRequest): boolean {
    if (ticket.order <= this.floor) return false;
    return this.deniedAt.size === 0 || (this.deniedAt.get(checkKey(req)) ?? 0) < ticket.order;
  }

  /**
   * Records SpiceDB's answer to `req`, asked with `ticket` (default: one taken now, so the write
   * is the newest answer). An allow is stored unless a newer answer is held, a deny asked no
   * earlier was seen, or the floor bars it. A deny removes any allow held, however new (that
   * costs one backend call, never an allow), and is kept only with `cacheNegative`. `req` is
   * validated as the service validates a check (an `AuthorizationRequestError` otherwise),
   * since a lookup trusts that only valid checks are stored.
   */
  set(req: CheckRequest, allowed: boolean, ticket?: DecisionTicket): void {
    validateCheckRequest(req, `${OWNER}.set(req)`);
    if (typeof allowed !== 'boolean') {
      throw new TypeError(
        `${OWNER}.set(req, allowed) needs allowed to be a boolean, got ${describeValue(allowed)}`,
      );
    }
    const { order, at } = this.ticketOf('set', ticket);
    if (!allowed) {
      this.denied(req, order, at, this.cacheNegative);
      return;
    }
    if (order <= this.floor) return;
    const entry = this.find(req);
    if (entry !== undefined && entry.order > order) return;
    if (this.deniedAt.size > 0 && (this.deniedAt.get(checkKey(req)) ?? 0) >= order) return;
    if (entry === undefined) {
      this.add(req, true, order, at);
      return;
    }
    entry.allowed = true;
    entry.order = order;
    entry.at = at;
    this.use(entry);
  }

  /**
   * SpiceDB denied `req`, asked with `ticket`, at a consistency the cache holds no decisions for
   * (`fully_consistent`, `atLeastAsFresh`): removes any allow held and bars allows asked before
   * it, as a deny does, but stores no decision, not even with `cacheNegative` (a deny already
   * kept only moves forward: its bar and its age start from this ask).
   */
  forget(req: CheckRequest, ticket?: DecisionTicket): void {
    validateCheckRequest(req, `${OWNER}.forget(req)`);
    const { order, at } = this.ticketOf('forget', ticket);
    this.denied(req, order, at, false);
  }

  /** Forgets the decision for exactly this check; true if there was one. */
  invalidate(req: CheckRequest): boolean {
    this.invalidated();
    const entry = this.find(req);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** Forgets every decision about `subject` (exactly, e.g. `user:alice`); returns how many. */
  invalidateSubject(subject: string): number {
    requireString('invalidateSubject(subject)', subject);
    this.invalidated();
    const byResource = this.bySubject.get(subject);
    if (byResource === undefined) return 0;
    let removed = 0;
    for (const head of byResource.values()) {
      for (let entry: Entry | undefined = head; entry !== undefined; entry = entry.sibling) {
        this.unlink(entry);
        removed++;
      }
    }
    this.bySubject.delete(subject);
    this.count -= removed;
    return removed;
  }

  /**
   * Forgets every decision about `resource` (exactly, e.g. `document:readme`), walking every
   * entry; returns how many.
   */
  invalidateResource(resource: string): number {
    requireString('invalidateResource(resource)', resource);
    this.invalidated();
    return this.removeWhere((entry) => entry.resource === resource);
  }

  /**
   * Forgets every decision whose subject, resource or permission (any one of the three) the
   * glob matches whole: `*` is any run of characters, `?` one character, and everything else,
   * regex metacharacters included, is literal (`document:a.b*` matches `document:a.b1`, not
   * `document:aXb1`). `user:*` forgets every decision with a user as subject (or resource);
   * `*` forgets everything. Walks every entry. Returns how many went.
   */
  invalidatePattern(glob: string): number {
    requireString('invalidatePattern(glob)', glob);
    this.invalidated();
    return this.removeWhere(
      (entry) =>
        matchesGlob(glob, entry.subject) ||
        matchesGlob(glob, entry.resource) ||
        matchesGlob(glob, entry.permission),
    );
  }

  /** Forgets every decision; returns how many. The hit, miss and eviction counts stay. */
  clear(): number {
    this.invalidated();
    const removed = this.count;
    this.bySubject.clear();
    this.count = 0;
    this.oldest = this.newest = undefined;
    return removed;
  }

  stats(): DecisionCacheStats {
    const lookups = this.hits + this.misses;
    return {
      entries: this.count,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
    };
  }

  /** Decisions held, fresh or stale. */
  get size(): number {
    return this.count;
  }

  /**
   * Whether an entry of this age is kept; one past `staleTtl` goes, and so does one whose age
   * is negative (the clock stepped back): that proves nothing about freshness. Dropping an entry
   * forgets no deny: the deny marks, not the entries, bar older allows.
   */
  private keeps(entry: Entry, age: number): boolean {
    if (age >= 0 && age < this.staleTtl) return true;
    this.remove(entry);
    return false;
  }

  /**
   * The change an invalidation announces may postdate any answer in flight: none of those is
   * stored, and (the service asks {@link isCurrent}) no check made now shares its call.
   */
  private invalidated(): void {
    this.floor = this.tickets;
  }

  /** A write's ticket, checked (a ticket from {@link begin}), or a new one. */
  private ticketOf(method: string, ticket: DecisionTicket | undefined): DecisionTicket {
    if (ticket === undefined) return this.begin();
    const order: unknown = typeof ticket === 'object' && ticket !== null ? ticket.order : undefined;
    const at: unknown = typeof ticket === 'object' && ticket !== null ? ticket.at : undefined;
    if (
      typeof order !== 'number' ||
      !Number.isInteger(order) ||
      order < 1 ||
      order > this.tickets ||
      typeof at !== 'number' ||
      !Number.isFinite(at)
    ) {
      throw new TypeError(
        `${OWNER}.${method}(req, ..., ticket) needs a ticket from this cache's begin(), got ${describeValue(ticket)}`,
      );
    }
    return { order, at };
  }

  /**
   * A deny: any allow held goes (or, with `keep`, becomes the deny), and allows asked before it
   * are barred. A kept deny only ever moves forward: an older deny neither shortens its life
   * nor lowers its bar.
   */
  private denied(req: CheckRequest, order: number, at: number, keep: boolean): void {
    this.mark(checkKey(req), order);
    const entry = this.find(req);
    if (entry !== undefined && !entry.allowed) {
      if (order > entry.order) {
        entry.order = order;
        entry.at = at;
      }
      return;
    }
    const stored = keep && order > this.floor;
    if (entry === undefined) {
      if (stored) this.add(req, false, order, at);
    } else if (stored) {
      entry.allowed = false;
      entry.order = order;
      entry.at = at;
      this.use(entry);
    } else {
      this.remove(entry);
    }
  }

  /** Records a deny's order for its key; the oldest mark past `maxEntries` raises the floor. */
  private mark(key: string, order: number): void {
    const before = this.deniedAt.get(key);
    if (before !== undefined && before >= order) return;
    this.deniedAt.delete(key); // re-inserted as the newest
    this.deniedAt.set(key, order);
    if (this.deniedAt.size > this.maxEntries) {
      const [oldest, forgotten] = this.deniedAt.entries().next().value as [string, number];
      this.deniedAt.delete(oldest);
      if (forgotten > this.floor) this.floor = forgotten;
    }
  }

  private add(req: CheckRequest, allowed: boolean, order: number, at: number): void {
    let byResource = this.bySubject.get(req.subject);
    if (byResource === undefined) {
      byResource = new Map();
      this.bySubject.set(req.subject, byResource);
    }
    const added: Entry = {
      subject: req.subject,
      resource: req.resource,
      permission: req.permission,
      allowed,
      order,
      at,
      older: undefined,
      newer: undefined,
      sibling: byResource.get(req.resource),
    };
    byResource.set(req.resource, added);
    this.count++;
    this.append(added);
    if (this.count > this.maxEntries && this.oldest !== undefined) {
      this.remove(this.oldest);
      this.evictions++;
    }
  }

  private find(req: CheckRequest): Entry | undefined {
    return this.findTuple(req.subject, req.resource, req.permission);
  }

  private findTuple(subject: string, resource: string, permission: string): Entry | undefined {
    let entry = this.bySubject.get(subject)?.get(resource);
    while (entry !== undefined && entry.permission !== permission) entry = entry.sibling;
    return entry;
  }

  private removeWhere(test: (entry: Entry) => boolean): number {
    let count = 0;
    for (let entry = this.oldest; entry !== undefined; ) {
      const next = entry.newer;
      if (test(entry)) {
        this.remove(entry);
        count++;
      }
      entry = next;
    }
    return count;
  }

  private remove(entry: Entry): void {
    const byResource = this.bySubject.get(entry.subject);
    const head = byResource?.get(entry.resource);
    if (byResource === undefined || head === undefined) return;
    if (head === entry) {
      if (entry.sibling !== undefined) byResource.set(entry.resource, entry.sibling);
      else if (byResource.size > 1) byResource.delete(entry.resource);
      else this.bySubject.delete(entry.subject);
    } else {
      let before = head;
      while (before.sibling !== undefined && before.sibling !== entry) before = before.sibling;
      if (before.sibling !== entry) return;
      before.sibling = entry.sibling;
    }
    entry.sibling = undefined;
    this.count--;
    this.unlink(entry);
  }

  // The use order as an intrusive doubly linked list (core's LruList idea): a hit is a few
  // pointer writes, with no allocation and none of the holes re-inserting into a Map leaves.
  private append(entry: Entry): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry): void {
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = entry.newer = undefined;
  }

  private use(entry: Entry): void {
    if (entry === this.newest) return;
    this.unlink(entry);
    this.append(entry);
  }
}

/** A caller passing anything else believes something was revoked while nothing was. */
function requireString(call: string, value: unknown): void {
  if (typeof value !== 'string')
    throw new TypeError(`${OWNER}.${call} needs a string, got ${describeValue(value)}`);
}
