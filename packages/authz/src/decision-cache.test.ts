import { ManualClock } from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionCache, type DecisionCacheOptions, type DecisionTicket } from './decision-cache.js';
import { AuthorizationRequestError } from './errors.js';
import { matchesGlob } from './glob.js';
import type { CheckRequest } from './types.js';

function check(subject: string, resource = 'document:readme', permission = 'read'): CheckRequest {
  return { subject, resource, permission };
}

function cacheAt(options: DecisionCacheOptions = {}): { cache: DecisionCache; clock: ManualClock } {
  const clock = new ManualClock(1_000_000);
  return { cache: new DecisionCache({ ...options, clock }), clock };
}

const alice = check('user:alice');

describe('DecisionCache options', () => {
  it('has the documented defaults', () => {
    const { cache, clock } = cacheAt();
    cache.set(alice, true);
    clock.advance(299_999);
    expect(cache.get(alice)).toBe(true);
    clock.advance(1);
    expect(cache.get(alice)).toBeUndefined();
    clock.advance(1_800_000 - 300_000 - 1);
    expect(cache.getStale(alice)).toBe(true);
    clock.advance(1);
    expect(cache.getStale(alice)).toBeUndefined();
    cache.set(alice, false);
    expect(cache.get(alice)).toBeUndefined(); // no negative caching by default
  });

  it.each<[unknown, RegExp]>([
    [null, /options must be an object, got null/],
    [[], /options must be an object, got an array/],
    [{ ttl: 10, tll: 5 }, /unknown option "tll"/],
    [{ ttl: 0 }, /"ttl" must be an integer >= 1, got 0/],
    [{ ttl: 1.5 }, /"ttl" must be an integer >= 1/],
    [{ ttl: '300' }, /"ttl" must be a number, got "300"/],
    [{ ttl: Number.POSITIVE_INFINITY }, /"ttl" must be an integer/],
    [{ maxEntries: 0 }, /"maxEntries" must be an integer >= 1/],
    [{ negativeTtl: -1 }, /"negativeTtl" must be an integer >= 1/],
    [{ ttl: 10, staleTtl: 9 }, /"staleTtl" \(9\) must be at least "ttl" \(10\)/],
    [
      { cacheNegative: true, negativeTtl: 2_000_000 },
      /"staleTtl" \(1800000\) must be at least "negativeTtl" \(2000000\) with cacheNegative/,
    ],
    [{ cacheNegative: 'yes' }, /"cacheNegative" must be a boolean, got "yes"/],
    [{ cacheNegative: null }, /"cacheNegative" must be a boolean, got null/],
    [{ clock: Date.now }, /"clock" must be a Clock/],
    [{ clock: {} }, /"clock" must be a Clock/],
  ])('refuses %j', (options, message) => {
    expect(() => new DecisionCache(options as DecisionCacheOptions)).toThrow(message);
  });

  it('takes undefined as the default, and staleTtl equal to ttl', () => {
    expect(() => new DecisionCache({ ttl: undefined, clock: undefined })).not.toThrow();
    expect(() => new DecisionCache({ ttl: 10, staleTtl: 10 })).not.toThrow();
    expect(
      () => new DecisionCache({ ttl: 10, staleTtl: 10, negativeTtl: 10, cacheNegative: true }),
    ).not.toThrow();
  });
});

describe('DecisionCache freshness', () => {
  it('an allow expires exactly at ttl, and is stale until exactly staleTtl', () => {
    const { cache, clock } = cacheAt({ ttl: 100, staleTtl: 250 });
    cache.set(alice, true);
    clock.advance(99);
    expect(cache.get(alice)).toBe(true);
    expect(cache.getStale(alice)).toBe(true);
    clock.advance(1);
    expect(cache.get(alice)).toBeUndefined();
    expect(cache.getStale(alice)).toBe(true);
    expect(cache.size).toBe(1);
    clock.advance(149);
    expect(cache.getStale(alice)).toBe(true);
    clock.advance(1);
    expect(cache.getStale(alice)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('a miss on an entry past staleTtl drops it', () => {
    const { cache, clock } = cacheAt({ ttl: 100, staleTtl: 200 });
    cache.set(alice, true);
    clock.advance(150);
    expect(cache.get(alice)).toBeUndefined();
    expect(cache.size).toBe(1);
    clock.advance(50);
    expect(cache.get(alice)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('answers nothing from an entry whose age is negative (the clock stepped back), and stores a newer answer at once', () => {
    let now = 10_000;
    const cache = new DecisionCache({ ttl: 100, clock: { now: () => now } });
    cache.set(alice, true);
    now -= 1;
    expect(cache.get(alice)).toBeUndefined();
    cache.set(alice, true); // asked after the first: its age runs from the stepped-back clock
    expect(cache.get(alice)).toBe(true);
    now -= 1;
    expect(cache.getStale(alice)).toBeUndefined();
  });

  it('after the clock steps back, a deny still removes the allow it revokes (finding 1)', () => {
    let now = 1_000_000;
    const cache = new DecisionCache({ clock: { now: () => now } });
    const asked = cache.begin();
    cache.set(alice, true, asked);
    now -= 10_000; // NTP steps the clock back, then the permission is revoked
    cache.set(alice, false, cache.begin());
    now += 10_500;
    expect(cache.get(alice)).toBeUndefined();
    expect(cache.getStale(alice)).toBeUndefined();
    // An allow asked before the step (and the revoke) arriving late is not stored either.
    cache.set(alice, true, asked);
    expect(cache.getStale(alice)).toBeUndefined();
  });

  it('set() again restarts the age', () => {
    const { cache, clock } = cacheAt({ ttl: 100 });
    cache.set(alice, true);
    clock.advance(80);
    cache.set(alice, true);
    clock.advance(80);
    expect(cache.get(alice)).toBe(true);
  });

  it('without cacheNegative a deny is not kept, and removes an allow held for the same check', () => {
    const { cache } = cacheAt();
    cache.set(alice, true);
    cache.set(alice, false);
    expect(cache.get(alice)).toBeUndefined();
    expect(cache.getStale(alice)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set(check('user:bob'), false);
    expect(cache.size).toBe(0);
  });

  it('with cacheNegative a deny answers for negativeTtl, then stays stale until staleTtl', () => {
    const { cache, clock } = cacheAt({
      cacheNegative: true,
      ttl: 100,
      negativeTtl: 20,
      staleTtl: 300,
    });
    cache.set(alice, true);
    cache.set(alice, false);
    expect(cache.get(alice)).toBe(false);
    clock.advance(19);
    expect(cache.get(alice)).toBe(false);
    clock.advance(1);
    expect(cache.get(alice)).toBeUndefined();
    expect(cache.getStale(alice)).toBe(false);
    clock.advance(280);
    expect(cache.getStale(alice)).toBeUndefined();
  });

  it('an allow after a cached deny answers allow for ttl', () => {
    const { cache, clock } = cacheAt({ cacheNegative: true, ttl: 100, negativeTtl: 20 });
    cache.set(alice, false);
    cache.set(alice, true);
    clock.advance(50);
    expect(cache.get(alice)).toBe(true);
  });

  it('keys the exact tuple, and stores no tuple that naive a:b:c joining could confuse', () => {
    const { cache } = cacheAt();
    const one = check('user:abc', 'doc:x');
    cache.set(one, true);
    expect(cache.get(check('user:ab', 'doc:x'))).toBeUndefined();
    expect(cache.get(check('user:abc', 'doc:x', 'write'))).toBeUndefined();
    expect(cache.get(one)).toBe(true);
    // Such tuples are malformed: set() refuses them, so no lookup can ever find one.
    expect(() => cache.set(check('user:a', 'b:c:d'), true)).toThrow(AuthorizationRequestError);
    expect(() => cache.set(check('user:a:b', 'c:d'), true)).toThrow(AuthorizationRequestError);
    expect(cache.get(check('user:a:b', 'c:d'))).toBeUndefined();
  });

  it('does not look at consistency (the service asks isCacheable first)', () => {
    const { cache } = cacheAt();
    cache.set({ ...alice, consistency: 'fully_consistent' }, true);
    expect(cache.get({ ...alice, consistency: { atLeastAsFresh: 'tok' } })).toBe(true);
  });
});

describe('DecisionCache LRU', () => {
  it('evicts the least recently used beyond maxEntries, and counts it', () => {
    const { cache } = cacheAt({ maxEntries: 3 });
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((id) => check(`user:${id}`)) as [
      CheckRequest,
      CheckRequest,
      CheckRequest,
      CheckRequest,
      CheckRequest,
    ];
    cache.set(a, true);
    cache.set(b, true);
    cache.set(c, true);
    expect(cache.get(a)).toBe(true); // a is now the most recently used; b the least
    cache.set(d, true);
    expect(cache.size).toBe(3);
    expect(cache.getStale(b)).toBeUndefined();
    expect(cache.getStale(a)).toBe(true);
    cache.set(c, true); // re-setting marks used too: a is now the least recent
    cache.set(e, true);
    expect(cache.getStale(a)).toBeUndefined();
    expect([c, d, e].map((r) => cache.get(r))).toEqual([true, true, true]);
    expect(cache.stats().evictions).toBe(2);
  });

  it('getStale marks nothing used and counts nothing', () => {
    const { cache } = cacheAt({ maxEntries: 2 });
    const a = check('user:a');
    const b = check('user:b');
    cache.set(a, true);
    cache.set(b, true);
    expect(cache.getStale(a)).toBe(true);
    cache.set(check('user:c'), true);
    expect(cache.getStale(a)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
  });

  it('agrees with a model under random operations, within maxEntries (property)', () => {
    // Few subjects, resources and permissions, so entries share a subject and a resource.
    const tuple = fc.record({
      subject: fc.constantFrom('user:a', 'user:b'),
      resource: fc.constantFrom('doc:x', 'doc:y'),
      permission: fc.constantFrom('read', 'write', 'view'),
    });
    const op = fc.oneof(
      fc.record({ op: fc.constant('set' as const), req: tuple, allowed: fc.boolean() }),
      fc.record({ op: fc.constantFrom('get' as const, 'invalidate' as const), req: tuple }),
      fc.record({ op: fc.constant('subject' as const), req: tuple }),
      fc.record({ op: fc.constant('resource' as const), req: tuple }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 200, size: 'max' }), (ops) => {
        const { cache } = cacheAt({ maxEntries: 5 });
        // [key, request], least recently used first; only allows are kept (no cacheNegative).
        let model: [string, CheckRequest][] = [];
        const keyOf = (r: CheckRequest) => `${r.subject} ${r.resource} ${r.permission}`;
        for (const step of ops) {
          const key = keyOf(step.req);
          const at = model.findIndex(([k]) => k === key);
          if (step.op === 'set') {
            cache.set(step.req, step.allowed);
            if (at >= 0) model.splice(at, 1);
            if (step.allowed) model.push([key, step.req]);
            if (model.length > 5) model.shift();
          } else if (step.op === 'get') {
            expect(cache.get(step.req)).toBe(at >= 0 ? true : undefined);
            if (at >= 0) model.push(...model.splice(at, 1));
          } else if (step.op === 'invalidate') {
            expect(cache.invalidate(step.req)).toBe(at >= 0);
            if (at >= 0) model.splice(at, 1);
          } else {
            const field = step.op;
            const kept = model.filter(([, r]) => r[field] !== step.req[field]);
            const removed =
              field === 'subject'
                ? cache.invalidateSubject(step.req.subject)
                : cache.invalidateResource(step.req.resource);
            expect(removed).toBe(model.length - kept.length);
            model = kept;
          }
          expect(cache.size).toBe(model.length);
        }
        for (const [, r] of model) expect(cache.getStale(r)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('DecisionCache invalidation', () => {
  function filled(): DecisionCache {
    const { cache } = cacheAt();
    cache.set(check('user:alice', 'document:readme', 'read'), true);
    cache.set(check('user:alice', 'document:plan', 'write'), true);
    cache.set(check('user:bob', 'document:readme', 'read'), true);
    cache.set(check('group:eng#member', 'folder:a+b', 'view'), true);
    return cache;
  }

  it('invalidate forgets exactly one check', () => {
    const cache = filled();
    expect(cache.invalidate(check('user:alice'))).toBe(true);
    expect(cache.invalidate(check('user:alice'))).toBe(false);
    expect(cache.size).toBe(3);
  });

  it('invalidateSubject and invalidateResource match exactly and say how many went', () => {
    const cache = filled();
    expect(cache.invalidateSubject('user:ali')).toBe(0);
    expect(cache.invalidateSubject('user:alice')).toBe(2);
    expect(cache.get(check('user:bob'))).toBe(true);
    expect(cache.invalidateResource('document:readme')).toBe(1);
    expect(cache.size).toBe(1);
  });

  it('invalidatePattern drops an entry when the glob matches any of subject, resource, permission', () => {
    expect(filled().invalidatePattern('user:*')).toBe(3);
    expect(filled().invalidatePattern('document:*')).toBe(3);
    expect(filled().invalidatePattern('write')).toBe(1);
    expect(filled().invalidatePattern('*#member')).toBe(1);
    expect(filled().invalidatePattern('user:???')).toBe(1);
    expect(filled().invalidatePattern('*')).toBe(4);
    expect(filled().invalidatePattern('nothing:*')).toBe(0);
  });

  it('invalidatePattern takes regex metacharacters in the glob literally', () => {
    expect(filled().invalidatePattern('folder:a+b')).toBe(1);
    expect(filled().invalidatePattern('folder:a?b')).toBe(1);
    expect(filled().invalidatePattern('folder:aab')).toBe(0);
    const cache = filled();
    expect(cache.invalidatePattern('document:re.dme')).toBe(0);
    expect(cache.invalidatePattern('user:(alice|bob)')).toBe(0);
    expect(cache.invalidatePattern('user:[ab]*')).toBe(0);
    expect(cache.invalidatePattern('user:.*')).toBe(0);
    expect(cache.invalidatePattern('^user:alice$')).toBe(0);
    expect(cache.size).toBe(4);
  });

  it('invalidatePattern matches values holding regex metacharacters', () => {
    const { cache } = cacheAt();
    cache.set(check('user:a|b', 'doc:x+y=z', 'read'), true);
    cache.set(check('user:a', 'doc:x', 'read'), true);
    expect(cache.invalidatePattern('user:a|b')).toBe(1);
    expect(cache.invalidatePattern('doc:x+*')).toBe(0);
    expect(cache.size).toBe(1);
  });

  it('invalidatePattern refuses a glob that is not a string', () => {
    expect(() => filled().invalidatePattern(/user/ as unknown as string)).toThrow(
      'DecisionCache.invalidatePattern(glob) needs a string, got an object',
    );
  });

  it('clear forgets everything and says how many, keeping the counts', () => {
    const cache = filled();
    cache.get(check('user:bob'));
    expect(cache.clear()).toBe(4);
    expect(cache.size).toBe(0);
    expect(cache.get(check('user:bob'))).toBeUndefined();
    expect(cache.stats()).toEqual({ entries: 0, hits: 1, misses: 1, evictions: 0, hitRate: 0.5 });
    cache.set(alice, true); // the list is usable after clear
    expect(cache.get(alice)).toBe(true);
  });
});

describe('DecisionCache tickets and invalidation', () => {
  it('an invalidation, even one that finds nothing, bars every answer already in flight', () => {
    const invalidations: ((cache: DecisionCache) => unknown)[] = [
      (cache) => cache.invalidate(alice),
      (cache) => cache.invalidateSubject('user:nobody'),
      (cache) => cache.invalidateResource('document:nothing'),
      (cache) => cache.invalidatePattern('nothing:*'),
      (cache) => cache.clear(),
    ];
    for (const invalidate of invalidations) {
      const { cache } = cacheAt();
      const before = cache.begin();
      expect(cache.isCurrent(before, alice)).toBe(true);
      invalidate(cache);
      expect(cache.isCurrent(before, alice)).toBe(false);
      cache.set(alice, true, before);
      expect(cache.getStale(alice)).toBeUndefined();
      const after = cache.begin();
      expect(cache.isCurrent(after, alice)).toBe(true);
      cache.set(alice, true, after);
      expect(cache.get(alice)).toBe(true);
    }
  });

  it('a deny of a tuple asked no earlier than a ticket bars that ticket for that tuple only', () => {
    for (const deny of [
      (cache: DecisionCache) => cache.set(alice, false),
      (cache: DecisionCache, ticket: DecisionTicket) => cache.forget(alice, ticket),
    ]) {
      const { cache } = cacheAt();
      const before = cache.begin();
      const denied = cache.begin();
      deny(cache, denied);
      expect(cache.isCurrent(before, alice)).toBe(false);
      expect(cache.isCurrent(before, check('user:bob'))).toBe(true);
      expect(cache.isCurrent(cache.begin(), alice)).toBe(true);
    }
    // A deny asked before the ticket does not bar it.
    const { cache } = cacheAt();
    const older = cache.begin();
    const ticket = cache.begin();
    cache.set(alice, false, older);
    expect(cache.isCurrent(ticket, alice)).toBe(true);
  });

  it('stays current through what changes no answer SpiceDB gave: set, get, getStale, eviction', () => {
    const { cache, clock } = cacheAt({ maxEntries: 1, ttl: 10, staleTtl: 20 });
    const ticket = cache.begin();
    cache.set(alice, true);
    cache.get(alice);
    cache.set(check('user:bob'), true); // evicts alice
    clock.advance(25);
    cache.getStale(check('user:bob')); // past staleTtl: dropped
    expect(cache.stats().evictions).toBe(1);
    expect(cache.isCurrent(ticket, alice)).toBe(true);
  });

  it('refuses a pattern that is not a string without moving the floor', () => {
    const { cache } = cacheAt();
    const ticket = cache.begin();
    expect(() => cache.invalidatePattern(1 as unknown as string)).toThrow(TypeError);
    expect(cache.isCurrent(ticket, alice)).toBe(true);
  });

  it('refuses a subject or resource that is not a string, naming the method, and keeps the allow', () => {
    const { cache } = cacheAt();
    cache.set(alice, true);
    for (const bad of [undefined, { type: 'user', id: 'alice' }, ['user:alice'], 7]) {
      expect(() => cache.invalidateSubject(bad as unknown as string)).toThrow(
        new TypeError(
          `DecisionCache.invalidateSubject(subject) needs a string, got ${describeValue(bad)}`,
        ),
      );
      expect(() => cache.invalidateResource(bad as unknown as string)).toThrow(
        /^DecisionCache\.invalidateResource\(resource\) needs a string, got /,
      );
    }
    expect(cache.get(alice)).toBe(true);
    expect(cache.invalidateSubject('user:alice')).toBe(1);
  });

  it('refuses a ticket it did not hand out, naming begin()', () => {
    const { cache } = cacheAt();
    cache.begin();
    for (const ticket of [
      5,
      { order: 2, at: 0 },
      { order: 0, at: 0 },
      { order: 1, at: Number.NaN },
      null,
    ]) {
      expect(() => cache.set(alice, true, ticket as never)).toThrow(
        "DecisionCache.set(req, ..., ticket) needs a ticket from this cache's begin()",
      );
    }
    expect(() => cache.forget(alice, 1 as never)).toThrow(/forget.*begin\(\)/);
    expect(cache.size).toBe(0);
  });
});

describe('DecisionCache stats', () => {
  it('counts hits and misses of get, with a NaN-free hit rate', () => {
    const { cache, clock } = cacheAt({ ttl: 10 });
    expect(cache.stats()).toEqual({ entries: 0, hits: 0, misses: 0, evictions: 0, hitRate: 0 });
    cache.get(alice);
    cache.set(alice, true);
    cache.get(alice);
    cache.get(alice);
    clock.advance(10);
    cache.get(alice); // expired: a miss
    expect(cache.stats()).toEqual({ entries: 1, hits: 2, misses: 2, evictions: 0, hitRate: 0.5 });
  });
});

describe('matchesGlob', () => {
  it.each<[string, string, boolean]>([
    ['', '', true],
    ['', 'a', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['a*', 'a', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbcd', false],
    ['*a*b*', 'xxaxxbxx', true],
    ['*a*b*', 'xxbxxaxx', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['?', '😀', true],
    ['??', '😀', false],
    ['a*?', 'a😀', true],
    ['.*', 'ab', false],
    ['.*', '.xyz', true],
    ['a\\*', 'a\\bc', true],
    ['[a]', 'a', false],
    ['[a]', '[a]', true],
    ['x\ny', 'x\ny', true],
    ['*', 'x\ny', true],
  ])('%j on %j is %s', (glob, text, expected) => {
    expect(matchesGlob(glob, text)).toBe(expected);
  });

  it('agrees with a regex built from the glob (property)', () => {
    const char = fc.constantFrom('a', 'b', '.', '*', '?', '\\', '(', '😀');
    fc.assert(
      fc.property(
        fc.string({ unit: char, maxLength: 8, size: 'max' }),
        fc.string({ unit: char, maxLength: 10, size: 'max' }),
        (glob, text) => {
          const source = [...glob]
            .map((c) =>
              c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'),
            )
            .join('');
          expect(matchesGlob(glob, text)).toBe(new RegExp(`^${source}$`, 'su').test(text));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('answers a many-star glob that fails on a long text', () => {
    // A backtracking regex of this glob would try about 1000^6 ways to fail here.
    expect(matchesGlob('*a*a*a*a*a*a*b', 'a'.repeat(1_000))).toBe(false);
  });
});

describe('DecisionCache: answers by the order they were asked', () => {
  it('measures freshness from when the answer was asked, on its own clock', () => {
    const { cache, clock } = cacheAt();
    const ticket = cache.begin();
    clock.advance(1_000);
    cache.set(alice, true, ticket);
    clock.advance(299_000 - 1);
    expect(cache.get(alice)).toBe(true);
    clock.advance(1);
    expect(cache.get(alice)).toBeUndefined();
  });

  it('a deny removes any allow held, even one asked after it; an allow asked before a deny is dropped', () => {
    const { cache } = cacheAt();
    const deny = cache.begin();
    const allow = cache.begin();
    cache.set(alice, true, allow);
    cache.set(alice, false, deny); // older, still a deny: one more backend call, never an allow
    expect(cache.getStale(alice)).toBeUndefined();
    cache.set(alice, true, deny); // hypothetically asked with the deny: no later, so barred
    expect(cache.getStale(alice)).toBeUndefined();
    cache.set(alice, true, allow); // asked after the deny: newer news
    expect(cache.get(alice)).toBe(true);
  });

  it('with cacheNegative a deny overwrites an allow, and an older allow never replaces a newer answer', () => {
    const { cache } = cacheAt({ cacheNegative: true });
    const first = cache.begin();
    const second = cache.begin();
    const third = cache.begin();
    cache.set(alice, true, second);
    cache.set(alice, false, first);
    expect(cache.get(alice)).toBe(false);
    cache.set(alice, true, first);
    expect(cache.get(alice)).toBe(false);
    cache.set(alice, true, third);
    cache.set(alice, true, second); // older than the allow held
    expect(cache.get(alice)).toBe(true);
  });

  it('a deny over a kept deny moves its bar forward, so an allow asked between the two is dropped (finding 3)', () => {
    const { cache, clock } = cacheAt({ cacheNegative: true, negativeTtl: 500 });
    cache.set(alice, false, cache.begin()); // kept at t=1 000 000
    clock.advance(1_000);
    const between = cache.begin(); // granted, and a slow check is asked
    clock.advance(1_000);
    cache.forget(alice, cache.begin()); // revoked: a fully_consistent check denies
    cache.set(alice, true, between);
    clock.advance(1);
    expect(cache.get(alice)).toBe(false);
    // The newer deny also restarted the kept deny's life.
    clock.advance(498);
    expect(cache.get(alice)).toBe(false);
  });

  it('a deny forgotten for memory raises a floor: no allow asked before it is stored (finding 2)', () => {
    for (const cacheNegative of [false, true]) {
      const { cache } = cacheAt({ maxEntries: 3, cacheNegative });
      const slow = cache.begin(); // a check asked before the revoke, still in flight
      cache.forget(alice, cache.begin()); // revoked: a fully_consistent check denies alice
      // maxEntries other denies push alice's deny out of memory.
      for (const id of ['b', 'c', 'd', 'e']) cache.set(check(`user:${id}`), false, cache.begin());
      cache.set(alice, true, slow);
      expect(cache.getStale(alice)).toBeUndefined();
      // What is asked after the forgotten deny is stored as usual.
      cache.set(alice, true, cache.begin());
      expect(cache.get(alice)).toBe(true);
    }
  });

  it('a kept deny evicted from the entries still bars an older allow', () => {
    const { cache } = cacheAt({ maxEntries: 2, cacheNegative: true });
    const slow = cache.begin();
    cache.set(alice, false, cache.begin());
    cache.set(check('user:b'), true);
    cache.set(check('user:c'), true); // evicts alice's kept deny
    expect(cache.getStale(alice)).toBeUndefined();
    cache.set(alice, true, slow);
    expect(cache.getStale(alice)).toBeUndefined();
  });

  it('forget() removes an allow and bars older allows, but never stores a decision', () => {
    const { cache } = cacheAt({ cacheNegative: true });
    const older = cache.begin();
    cache.set(alice, true);
    cache.forget(alice, older);
    expect(cache.getStale(alice)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set(alice, true, older);
    expect(cache.getStale(alice)).toBeUndefined();
  });

  it('agrees with a model of tickets under random interleavings: no allow asked before a deny is ever held after it (property)', () => {
    const tuple = fc.constantFrom(check('user:a'), check('user:b'), check('user:c'));
    // Each step begins a call (a ticket) or ends one begun earlier, by its index among those open.
    const step = fc.oneof(
      fc.record({ op: fc.constant('begin' as const), req: tuple }),
      fc.record({ op: fc.constant('end' as const), pick: fc.nat(), allowed: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.boolean(), (steps, cacheNegative) => {
        const { cache } = cacheAt({ maxEntries: 2, cacheNegative });
        const open: { req: CheckRequest; ticket: ReturnType<DecisionCache['begin']> }[] = [];
        const answered: { req: CheckRequest; order: number; allowed: boolean }[] = [];
        for (const s of steps) {
          if (s.op === 'begin') {
            open.push({ req: s.req, ticket: cache.begin() });
            continue;
          }
          const [call] = open.splice(s.pick % Math.max(open.length, 1), 1);
          if (call === undefined) continue;
          cache.set(call.req, s.allowed, call.ticket);
          answered.push({ req: call.req, order: call.ticket.order, allowed: s.allowed });
          // An allow is held only if one was asked after every deny of that check.
          for (const req of new Set(answered.map((a) => a.req))) {
            if (cache.getStale(req) !== true) continue;
            const ofReq = answered.filter((a) => a.req === req);
            const lastDeny = Math.max(0, ...ofReq.filter((a) => !a.allowed).map((a) => a.order));
            expect(ofReq.some((a) => a.allowed && a.order > lastDeny)).toBe(true);
          }
          if (!s.allowed) expect(cache.getStale(call.req)).not.toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stores only a check the service would ask: set() validates what it is given', () => {
    const { cache } = cacheAt();
    expect(() => cache.set({ ...alice, subject: 'user:*' }, true)).toThrow(
      AuthorizationRequestError,
    );
    expect(() => cache.set({ ...alice, resource: 'document' }, true)).toThrow(/resource/);
    expect(() => cache.set(alice, 'yes' as never)).toThrow(/allowed.*boolean/);
    expect(() => cache.forget({ ...alice, permission: 'x' })).toThrow(AuthorizationRequestError);
    expect(cache.size).toBe(0);
  });
});

describe('DecisionCache peeking for a batch', () => {
  it('getTuple(..., false) counts nothing until countLookups says the batch decided', () => {
    const { cache } = cacheAt();
    cache.set(alice, true);
    expect(cache.getTuple(alice.subject, alice.resource, alice.permission, false)).toBe(true);
    expect(cache.getTuple('user:bob', alice.resource, alice.permission, false)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
    cache.countLookups(1, 1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });
});

describe('DecisionCache against a model of every answer and invalidation (property)', () => {
  // Three subjects (one a prefix of another), two resources, two permissions: twelve tuples.
  const SUBJECTS = ['user:a', 'user:ab', 'user:b'];
  const RESOURCES = ['document:x', 'document:y'];
  const PERMISSIONS = ['read', 'write'];
  const TUPLES = 12;
  const tupleOf = (i: number): CheckRequest =>
    check(
      SUBJECTS[i % 3] as string,
      RESOURCES[Math.floor(i / 3) % 2] as string,
      PERMISSIONS[Math.floor(i / 6) % 2] as string,
    );
  const keyOf = (req: CheckRequest): string =>
    JSON.stringify([req.subject, req.resource, req.permission]);

  type Op =
    | { t: 'begin' }
    | { t: 'set'; k: number; allowed: boolean; tk: number }
    | { t: 'setNow'; k: number; allowed: boolean }
    | { t: 'forget'; k: number; tk: number }
    | { t: 'inv'; k: number }
    | { t: 'invSubject'; s: number }
    | { t: 'invResource'; r: number }
    | { t: 'invPattern'; glob: string }
    | { t: 'clear' }
    | { t: 'tick'; ms: number }
    | { t: 'get' | 'stale'; k: number }
    | { t: 'current'; k: number; tk: number };
  const k = fc.nat(TUPLES - 1);
  const tk = fc.nat(30);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant({ t: 'begin' as const }), weight: 4 },
    {
      arbitrary: fc.record({ t: fc.constant('set' as const), k, allowed: fc.boolean(), tk }),
      weight: 5,
    },
    {
      arbitrary: fc.record({ t: fc.constant('setNow' as const), k, allowed: fc.boolean() }),
      weight: 1,
    },
    { arbitrary: fc.record({ t: fc.constant('forget' as const), k, tk }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('inv' as const), k }), weight: 1 },
    { arbitrary: fc.record({ t: fc.constant('invSubject' as const), s: fc.nat(2) }), weight: 1 },
    { arbitrary: fc.record({ t: fc.constant('invResource' as const), r: fc.nat(1) }), weight: 1 },
    {
      arbitrary: fc.record({
        t: fc.constant('invPattern' as const),
        glob: fc.constantFrom('user:a*', 'write', '*', 'document:?'),
      }),
      weight: 1,
    },
    { arbitrary: fc.constant({ t: 'clear' as const }), weight: 1 },
    {
      arbitrary: fc.record({
        t: fc.constant('tick' as const),
        ms: fc.integer({ min: -30, max: 60 }),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({ t: fc.constantFrom('get' as const, 'stale' as const), k }),
      weight: 6,
    },
    { arbitrary: fc.record({ t: fc.constant('current' as const), k, tk }), weight: 2 },
  );
  interface Answer {
    readonly allowed: boolean;
    readonly order: number;
    readonly at: number;
    readonly seq: number;
  }

  it('serves an allow only while no deny, invalidation or age bars it; stays bounded', () => {
    const ttl = 40;
    const staleTtl = 100;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.array(op, { minLength: 20, maxLength: 150 }),
        (maxEntries, cacheNegative, ops) => {
          // Not a ManualClock: this clock also steps back, as a wall clock can.
          let now = 1_000;
          const clock = { now: () => now };
          const cache = new DecisionCache({
            ttl,
            staleTtl,
            maxEntries,
            cacheNegative,
            negativeTtl: 20,
            clock,
          });
          const tickets: DecisionTicket[] = [];
          let issued = 0; // tickets taken, set() without one included: the order of the next is issued + 1
          const answers = new Map<string, Answer[]>();
          // For each tuple, the number of tickets issued when an invalidation touched it.
          const invalidations = new Map<string, number[]>();
          const invalidate = (touches: (req: CheckRequest) => boolean): void => {
            for (let i = 0; i < TUPLES; i++) {
              const req = tupleOf(i);
              if (touches(req))
                invalidations.set(keyOf(req), [...(invalidations.get(keyOf(req)) ?? []), issued]);
            }
          };
          const record = (req: CheckRequest, answer: Answer): void => {
            answers.set(keyOf(req), [...(answers.get(keyOf(req)) ?? []), answer]);
          };
          const barredAfter = (key: string, order: number): boolean =>
            (answers.get(key) ?? []).some((d) => !d.allowed && d.order >= order) ||
            (invalidations.get(key) ?? []).some((n) => n >= order);
          const justified = (key: string, limit: number): boolean =>
            (answers.get(key) ?? []).some((a) => {
              if (!a.allowed || barredAfter(key, a.order)) return false;
              if ((answers.get(key) ?? []).some((d) => !d.allowed && d.seq > a.seq)) return false;
              const age = clock.now() - a.at;
              return age >= 0 && age < limit;
            });
          let seq = 0;
          for (const o of ops) {
            seq++;
            switch (o.t) {
              case 'begin':
                tickets.push(cache.begin());
                issued++;
                break;
              case 'set':
              case 'forget': {
                const ticket = tickets[o.tk % Math.max(tickets.length, 1)];
                if (ticket === undefined) break;
                const req = tupleOf(o.k);
                if (o.t === 'set') cache.set(req, o.allowed, ticket);
                else cache.forget(req, ticket);
                record(req, {
                  allowed: o.t === 'set' && o.allowed,
                  order: ticket.order,
                  at: ticket.at,
                  seq,
                });
                break;
              }
              case 'setNow':
                cache.set(tupleOf(o.k), o.allowed);
                issued++;
                record(tupleOf(o.k), { allowed: o.allowed, order: issued, at: clock.now(), seq });
                break;
              case 'inv':
                cache.invalidate(tupleOf(o.k));
                invalidate((req) => keyOf(req) === keyOf(tupleOf(o.k)));
                break;
              case 'invSubject':
                cache.invalidateSubject(SUBJECTS[o.s] as string);
                invalidate((req) => req.subject === SUBJECTS[o.s]);
                break;
              case 'invResource':
                cache.invalidateResource(RESOURCES[o.r] as string);
                invalidate((req) => req.resource === RESOURCES[o.r]);
                break;
              case 'invPattern':
                cache.invalidatePattern(o.glob);
                invalidate((req) =>
                  [req.subject, req.resource, req.permission].some((field) =>
                    matchesGlob(o.glob, field),
                  ),
                );
                break;
              case 'clear':
                cache.clear();
                invalidate(() => true);
                break;
              case 'tick':
                now += o.ms;
                break;
              case 'get':
              case 'stale': {
                const req = tupleOf(o.k);
                const served = o.t === 'get' ? cache.get(req) : cache.getStale(req);
                if (served === true)
                  expect(justified(keyOf(req), o.t === 'get' ? ttl : staleTtl)).toBe(true);
                break;
              }
              case 'current': {
                const ticket = tickets[o.tk % Math.max(tickets.length, 1)];
                const req = tupleOf(o.k);
                // A call a check may still join: nothing since its ticket bars its answer.
                if (ticket !== undefined && cache.isCurrent(ticket, req))
                  expect(barredAfter(keyOf(req), ticket.order)).toBe(false);
                break;
              }
            }
            expect(cache.size).toBeLessThanOrEqual(maxEntries);
            expect(
              (cache as unknown as { deniedAt: Map<string, number> }).deniedAt.size,
            ).toBeLessThanOrEqual(maxEntries);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
