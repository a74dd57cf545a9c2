import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { DecisionCache } from './decision-cache.js';
import { FallbackStrategy } from './fallback.js';
import { AuthorizationService } from './service.js';
import type { CheckRequest, PermissionChecker } from './types.js';

const alice: CheckRequest = { subject: 'user:alice', resource: 'document:x', permission: 'read' };

/**
 * A checker whose answer for alice is `granted` as of the moment each call is asked; `hold`
 * keeps the next minimize_latency call for alice open until `release()`. Anyone else is denied.
 * `down` fails every call (an outage).
 */
class RevocableChecker implements PermissionChecker {
  granted = true;
  down = false;
  calls = 0;
  private holding = false;
  private releases: (() => void)[] = [];

  hold(): void {
    this.holding = true;
  }

  release(): void {
    for (const release of this.releases.splice(0)) release();
  }

  async check(req: CheckRequest): Promise<boolean> {
    this.calls++;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const answer = req.subject === alice.subject && this.granted;
    if (this.holding && req.consistency === undefined && req.subject === alice.subject) {
      this.holding = false;
      await new Promise<void>((resolve) => this.releases.push(resolve));
    }
    return answer;
  }

  async checkMany(reqs: CheckRequest[]): Promise<boolean[]> {
    this.calls++;
    return reqs.map((req) => req.subject === alice.subject && this.granted);
  }

  async health(): Promise<void> {}
}

describe('AuthorizationService: answers ordered by when they were asked, not by the clock', () => {
  it('after the clock steps back, a revoke is not undone: no cached allow, none for useCachedRules (finding 1)', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const checker = new RevocableChecker();
    const service = new AuthorizationService({
      checker,
      clock,
      fallback: FallbackStrategy.useCachedRules(),
      breaker: { failureThreshold: 100 },
    });
    expect(await service.check(alice)).toMatchObject({ allowed: true, source: 'spicedb' });
    now = 990_000; // NTP steps the clock back 10 s; then the permission is revoked
    checker.granted = false;
    expect(await service.check(alice)).toMatchObject({ allowed: false, source: 'spicedb' });
    now = 1_000_500;
    expect(await service.check(alice)).toMatchObject({ allowed: false, source: 'spicedb' });
    checker.down = true;
    expect(await service.check(alice)).toMatchObject({
      allowed: false,
      source: 'fallback',
      reason: 'backend_error',
    });
  });

  it('maxEntries denies while an older allow is in flight do not let it be stored (finding 2)', async () => {
    const checker = new RevocableChecker();
    const service = new AuthorizationService({ checker, cache: { maxEntries: 3 } });
    checker.hold();
    const older = service.check(alice); // asked while granted, answered late
    await Promise.resolve();
    checker.granted = false; // revoked
    expect(await service.check({ ...alice, consistency: 'fully_consistent' })).toMatchObject({
      allowed: false,
    });
    // Ordinary traffic: more denies than the cache holds.
    const others = ['b', 'c', 'd', 'e', 'f'].map((id) => ({ ...alice, subject: `user:${id}` }));
    await service.checkMany(others);
    checker.release();
    expect(await older).toMatchObject({ allowed: true, source: 'spicedb' }); // its own answer
    expect(await service.check(alice)).toMatchObject({ allowed: false, source: 'spicedb' });
  });

  it("ages entries on a passed-in cache by that cache's own clock, not the service clock (finding 6)", async () => {
    const serviceClock = new ManualClock(5);
    const cacheClock = new ManualClock(1_700_000_000_000);
    const cache = new DecisionCache({ ttl: 1_000, clock: cacheClock });
    const checker = new RevocableChecker();
    const service = new AuthorizationService({ checker, clock: serviceClock, cache });
    await service.check(alice);
    expect(await service.check(alice)).toMatchObject({ source: 'cache' });
    serviceClock.advance(10_000); // the service's clock says nothing about the cache's entries
    expect(await service.check(alice)).toMatchObject({ source: 'cache' });
    cacheClock.advance(999);
    expect(await service.check(alice)).toMatchObject({ source: 'cache' });
    cacheClock.advance(1);
    expect(await service.check(alice)).toMatchObject({ source: 'spicedb' });
    expect(checker.calls).toBe(2);
  });

  it("orders a public write after the service's call began against it: the later deny wins", async () => {
    const checker = new RevocableChecker();
    const service = new AuthorizationService({ checker });
    checker.hold();
    const pending = service.check(alice); // will answer allow
    await Promise.resolve();
    service.cache?.set(alice, false); // a writer learns of a revoke after the call was asked
    checker.release();
    await pending;
    expect(service.cache?.getStale(alice)).toBeUndefined();
  });
});

describe('AuthorizationService: a check made after a deny shares no older call', () => {
  const denials: [string, (service: AuthorizationService, cache: DecisionCache) => unknown][] = [
    [
      'a fully_consistent check',
      (service) => service.check({ ...alice, consistency: 'fully_consistent' }),
    ],
    ['a checkMany', (service) => service.checkMany([alice])],
    ["the user's own cache.set", (_, cache) => cache.set(alice, false)],
  ];
  for (const [how, deny] of denials) {
    it(`after ${how} denied, a new check asks again instead of joining a call that will allow`, async () => {
      const checker = new RevocableChecker();
      const cache = new DecisionCache({ clock: new ManualClock() });
      const service = new AuthorizationService({ checker, cache, clock: new ManualClock() });
      checker.hold();
      const first = service.check(alice); // reads SpiceDB before the revoke; answers later
      await Promise.resolve();
      checker.granted = false;
      await deny(service, cache);
      const after = service.check(alice);
      checker.release();
      expect(await after).toMatchObject({ allowed: false, source: 'spicedb' });
      expect(await first).toMatchObject({ allowed: true, source: 'spicedb' });
      expect(cache.get(alice)).toBeUndefined();
    });
  }
});
