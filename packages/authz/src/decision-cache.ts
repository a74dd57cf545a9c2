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

/** One cached decision, and its links in the use order (the list lives on the entries). */
interface Entry {
  readonly key: string;
  readonly subject: string;
  readonly resource: string;
  readonly permission: string;
  allowed: boolean;
  /** When SpiceDB said so, on the cache's clock. */
  at: number;
  older: Entry | undefined;
  newer: Entry | undefined;
}

const OWNER = 'DecisionCache';
const KNOWN = new Set(['ttl', 'staleTtl', 'maxEntries', 'cacheNegative', 'negativeTtl', 'clock']);

/**
 * Recent SpiceDB decisions, by exact (subject, resource, permission), bounded by `maxEntries`
 * with least-recently-used eviction. An allow answers for `ttl`, a deny (only with
 * `cacheNegative`) for `negativeTtl`; past that a decision is still kept, up to `staleTtl`, for
 * the `useCachedRules` fallback to read while SpiceDB cannot answer ({@link getStale}).
 *
 * The cache does not look at a check's consistency: the service asks `isCacheable` first and
 * neither reads nor fills the cache for `fully_consistent` or `atLeastAsFresh` checks.
 */
export class DecisionCache {
  private readonly ttl: number;
  private readonly staleTtl: number;
  private readonly maxEntries: number;
  private readonly cacheNegative: boolean;
  private readonly negativeTtl: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

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
    const entry = this.entries.get(checkKey(req));
    if (entry !== undefined) {
      const age = this.clock.now() - entry.at;
      if (age < (entry.allowed ? this.ttl : this.negativeTtl)) {
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
    const entry = this.entries.get(checkKey(req));
    if (entry === undefined) return undefined;
    if (this.clock.now() - entry.at < this.staleTtl) return entry.allowed;
    this.remove(entry);
    return undefined;
  }

  /**
   * Records SpiceDB's answer. An allow is always kept; a deny only with `cacheNegative`, and
   * without it a deny still removes an allow held for the same check, so a revoked permission
   * never lives on in the cache (nor in the stale fallback).
   */
  set(req: CheckRequest, allowed: boolean): void {
    const key = checkKey(req);
    const entry = this.entries.get(key);
    if (!allowed && !this.cacheNegative) {
      if (entry !== undefined) this.remove(entry);
      return;
    }
    const now = this.clock.now();
    if (entry !== undefined) {
      entry.allowed = allowed;
      entry.at = now;
      this.use(entry);
      return;
    }
    const added: Entry = {
      key,
      subject: req.subject,
      resource: req.resource,
      permission: req.permission,
      allowed,
      at: now,
      older: undefined,
      newer: undefined,
    };
    this.entries.set(key, added);
    this.append(added);
    if (this.entries.size > this.maxEntries && this.oldest !== undefined) {
      this.remove(this.oldest);
      this.evictions++;
    }
  }

  /** Forgets the decision for exactly this check; true if there was one. */
  invalidate(req: CheckRequest): boolean {
    const entry = this.entries.get(checkKey(req));
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** Forgets every decision about `subject` (exactly, e.g. `user:alice`); returns how many. */
  invalidateSubject(subject: string): number {
    return this.removeWhere((entry) => entry.subject === subject);
  }

  /** Forgets every decision about `resource` (exactly, e.g. `document:readme`); returns how many. */
  invalidateResource(resource: string): number {
    return this.removeWhere((entry) => entry.resource === resource);
  }

  /**
   * Forgets every decision whose subject, resource or permission (any one of the three) the
   * glob matches whole: `*` is any run of characters, `?` one character, and everything else,
   * regex metacharacters included, is literal (`document:a.b*` matches `document:a.b1`, not
   * `document:aXb1`). `user:*` forgets every decision about a user; `*` forgets everything.
   * Returns how many went.
   */
  invalidatePattern(glob: string): number {
    if (typeof glob !== 'string') {
      throw new TypeError(
        `${OWNER}.invalidatePattern(glob) needs a string, got ${describeValue(glob)}`,
      );
    }
    return this.removeWhere(
      (entry) =>
        matchesGlob(glob, entry.subject) ||
        matchesGlob(glob, entry.resource) ||
        matchesGlob(glob, entry.permission),
    );
  }

  /** Forgets every decision; returns how many. The hit, miss and eviction counts stay. */
  clear(): number {
    const count = this.entries.size;
    this.entries.clear();
    this.oldest = this.newest = undefined;
    return count;
  }

  stats(): DecisionCacheStats {
    const lookups = this.hits + this.misses;
    return {
      entries: this.entries.size,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
    };
  }

  /** Decisions held, fresh or stale. */
  get size(): number {
    return this.entries.size;
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
    this.entries.delete(entry.key);
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
