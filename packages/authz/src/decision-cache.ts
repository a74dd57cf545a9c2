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
 * One cached decision, with its links in the use order, and to the next entry for the same
 * subject and resource with another permission (there are a handful at most: only permissions
 * the schema has are answered, so only they are cached).
 */
interface Entry {
  readonly subject: string;
  readonly resource: string;
  readonly permission: string;
  allowed: boolean;
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
 * An invalidation also reaches answers not stored yet: a caller about to {@link set} an answer
 * whose call began before {@link generation} moved must drop it instead (the service does).
 *
 * Answers are ordered by when they were asked: one asked before the decision held (or before a
 * deny the cache did not keep) never replaces it, so a slow, older allow cannot undo a revoke.
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
  private invalidations = 0;
  /**
   * When each recent deny the cache did not keep was asked, by checkKey, oldest first: an allow
   * asked before it must not be stored. Bounded like the entries (checkKey is built only when a
   * decision is stored, never on a lookup).
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
   * (the service's hot path: what it looked up is then exactly what it announces).
   */
  getTuple(subject: string, resource: string, permission: string): boolean | undefined {
    const entry = this.findTuple(subject, resource, permission);
    if (entry !== undefined) {
      const age = this.clock.now() - entry.at;
      // A negative age (the wall clock stepped back) proves nothing about freshness: a miss.
      if (age >= 0 && age < (entry.allowed ? this.ttl : this.negativeTtl)) {
        this.hits++;
        this.use(entry);
        return entry.allowed;
      }
      if (age >= this.staleTtl) this.remove(entry);
    }
    this.misses++;
    return undefined;
  }

  /**
   * The last decision for `req` while it is younger than `staleTtl`, fresh or expired, or
   * undefined: what the `useCachedRules` fallback answers from. Counts nothing, moves nothing.
   */
  getStale(req: CheckRequest): boolean | undefined {
    const entry = this.find(req);
    if (entry === undefined) return undefined;
    const age = this.clock.now() - entry.at;
    if (age >= 0 && age < this.staleTtl) return entry.allowed;
    this.remove(entry);
    return undefined;
  }

  /**
   * Records SpiceDB's answer to `req`, asked at `askedAt` (default now; the service passes the
   * time its call began, so age is never understated). An allow is kept; a deny only with
   * `cacheNegative`, and without it a deny still removes an allow asked no later, and bars any
   * allow asked before it, so a revoked permission never lives on in the cache (nor in the stale
   * fallback). An answer asked before the decision held is dropped, and of two asked at the same
   * time the deny wins (unless `askedAt` is left out: the write is then the latest). `req` is
   * validated as the service validates a check (an `AuthorizationRequestError` otherwise), since
   * a lookup trusts that only valid checks are stored.
   */
  set(req: CheckRequest, allowed: boolean, askedAt?: number): void {
    const at = this.checkedWrite('set', req, askedAt);
    // Without a time the write is now, after every answer before it: it wins a tie.
    const tieWins = askedAt === undefined;
    if (typeof allowed !== 'boolean') {
      throw new TypeError(
        `${OWNER}.set(req, allowed) needs allowed to be a boolean, got ${describeValue(allowed)}`,
      );
    }
    if (!allowed && !this.cacheNegative) {
      this.denied(req, at);
      return;
    }
    const entry = this.find(req);
    if (entry !== undefined) {
      if (at < entry.at || (at === entry.at && allowed && !entry.allowed && !tieWins)) return;
      entry.allowed = allowed;
      entry.at = at;
      this.use(entry);
      return;
    }
    if (allowed && this.deniedAt.size > 0) {
      const key = checkKey(req);
      const deniedAt = this.deniedAt.get(key);
      if (deniedAt !== undefined) {
        if (at < deniedAt || (at === deniedAt && !tieWins)) return;
        this.deniedAt.delete(key);
      }
    }
    this.add(req, allowed, at);
  }

  /**
   * SpiceDB denied `req`, asked at `askedAt`, at a consistency the cache holds no decisions for
   * (`fully_consistent`, `atLeastAsFresh`): removes an allow asked no later and bars allows asked
   * before it, as a deny does, but stores nothing, not even with `cacheNegative`.
   */
  forget(req: CheckRequest, askedAt?: number): void {
    this.denied(req, this.checkedWrite('forget', req, askedAt));
  }

  /**
   * Moves on every `invalidate*()` and `clear()`, whether or not they found a decision to forget
   * (the answer they are about may be in flight), and on nothing else. An answer from a call
   * that began in an earlier generation may predate the change the invalidation announced: it
   * must not be stored, and a check made now must not share that call.
   */
  get generation(): number {
    return this.invalidations;
  }

  /** Forgets the decision for exactly this check; true if there was one. */
  invalidate(req: CheckRequest): boolean {
    this.invalidations++;
    const entry = this.find(req);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** Forgets every decision about `subject` (exactly, e.g. `user:alice`); returns how many. */
  invalidateSubject(subject: string): number {
    this.invalidations++;
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
    this.invalidations++;
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
    if (typeof glob !== 'string') {
      throw new TypeError(
        `${OWNER}.invalidatePattern(glob) needs a string, got ${describeValue(glob)}`,
      );
    }
    this.invalidations++;
    return this.removeWhere(
      (entry) =>
        matchesGlob(glob, entry.subject) ||
        matchesGlob(glob, entry.resource) ||
        matchesGlob(glob, entry.permission),
    );
  }

  /** Forgets every decision; returns how many. The hit, miss and eviction counts stay. */
  clear(): number {
    this.invalidations++;
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

  /** Validates a write's check and time, and returns the time (now when none was given). */
  private checkedWrite(method: string, req: CheckRequest, askedAt: number | undefined): number {
    validateCheckRequest(req, `${OWNER}.${method}(req)`);
    if (askedAt === undefined) return this.clock.now();
    if (typeof askedAt !== 'number' || !Number.isFinite(askedAt)) {
      throw new TypeError(
        `${OWNER}.${method}(req, ..., askedAt) needs askedAt to be a finite time on the cache's clock, got ${describeValue(askedAt)}`,
      );
    }
    return askedAt;
  }

  /** A deny not kept: the allow it outdates goes, and older allows are barred. */
  private denied(req: CheckRequest, at: number): void {
    const entry = this.find(req);
    if (entry !== undefined) {
      // A newer answer stays, and a kept deny is already what this says.
      if (at < entry.at || !entry.allowed) return;
      this.remove(entry);
    }
    const key = checkKey(req);
    const before = this.deniedAt.get(key);
    if (before !== undefined && before >= at) return;
    this.deniedAt.delete(key); // re-inserted as the newest
    this.deniedAt.set(key, at);
    if (this.deniedAt.size > this.maxEntries) {
      const oldest = this.deniedAt.keys().next().value as string;
      this.deniedAt.delete(oldest);
    }
  }

  private add(req: CheckRequest, allowed: boolean, at: number): void {
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
