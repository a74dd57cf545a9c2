import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { failingCall as failing, succeedingCall as ok } from '../test/fixture.js';
import { HistorySampler } from './sampler.js';

describe('HistorySampler', () => {
  it('takes a breaker present at creation as its baseline, then records deltas', async () => {
    const registry = new BreakerRegistry();
    const breaker = registry.get('a');
    await breaker.execute(ok);
    const sampler = new HistorySampler(registry, 5);
    expect(sampler.added).toEqual([]);
    await breaker.execute(ok);
    await breaker.execute(failing).catch(() => {});
    sampler.sample();
    const tracked = sampler.get('a');
    expect(tracked?.history.view()).toEqual({ calls: [2], errors: [1] });
    expect(sampler.changed.map((t) => [t.name, t.callsDelta, t.errorsDelta])).toEqual([
      ['a', 2, 1],
    ]);
    sampler.sample();
    expect(sampler.changed).toEqual([]);
    expect(tracked?.history.view()).toEqual({ calls: [2, 0], errors: [1, 0] });
  });

  it('starts a breaker found later from its totals: a past is not one interval', async () => {
    const registry = new BreakerRegistry();
    const sampler = new HistorySampler(registry, 5);
    const fresh = registry.get('fresh');
    await fresh.execute(ok);
    await fresh.execute(failing).catch(() => {});
    const old = new CircuitBreaker({ name: 'old' });
    for (let i = 0; i < 5000; i++) await old.execute(ok);
    registry.register('old', old);
    sampler.sample();
    expect(sampler.added.map((t) => [t.name, t.history.view()])).toEqual([
      ['fresh', { calls: [0], errors: [0] }],
      ['old', { calls: [0], errors: [0] }],
    ]);
    // Told once, as an added breaker, not again among the changed ones.
    expect(sampler.changed).toEqual([]);
    await fresh.execute(ok);
    await old.execute(failing).catch(() => {});
    sampler.sample();
    expect(sampler.changed.map((t) => [t.name, t.callsDelta, t.errorsDelta])).toEqual([
      ['fresh', 1, 0],
      ['old', 1, 1],
    ]);
    expect(sampler.get('old')?.history.view()).toEqual({ calls: [0, 1], errors: [0, 1] });
  });

  it('sees a reset by a counter going down, and lists the breaker as removed and added', async () => {
    const registry = new BreakerRegistry();
    const breaker = registry.get('a');
    for (let i = 0; i < 5; i++) await breaker.execute(ok);
    const sampler = new HistorySampler(registry, 5);
    breaker.reset();
    await breaker.execute(ok);
    sampler.sample();
    expect(sampler.get('a')?.history.view().calls).toEqual([1]);
    expect([sampler.removed, sampler.added.map((t) => t.name), sampler.changed]).toEqual([
      ['a'],
      ['a'],
      [],
    ]);
    await breaker.execute(ok);
    sampler.sample();
    expect(sampler.changed.map((t) => [t.name, t.callsDelta])).toEqual([['a', 1]]);
    expect([sampler.removed, sampler.added]).toEqual([[], []]);
  });

  it('sees a reset followed by more calls than before through the reset transition', async () => {
    const registry = new BreakerRegistry();
    const breaker = registry.get('a');
    for (let i = 0; i < 5; i++) await breaker.execute(ok);
    const sampler = new HistorySampler(registry, 5);
    breaker.forceOpen();
    sampler.sample();
    expect(sampler.changed).toEqual([]);
    breaker.reset();
    for (let i = 0; i < 8; i++) await breaker.execute(ok);
    sampler.sample();
    // 8 made since the reset, though the total went from 5 to 8 only.
    expect(sampler.get('a')?.history.view().calls).toEqual([0, 8]);
    expect(sampler.get('a')?.callsDelta).toBe(8);
    expect([sampler.removed, sampler.added.map((t) => t.name)]).toEqual([['a'], ['a']]);
    // The same reset is not seen twice.
    await breaker.execute(ok);
    sampler.sample();
    expect(sampler.changed.map((t) => [t.name, t.callsDelta])).toEqual([['a', 1]]);
    expect(sampler.removed).toEqual([]);
  });

  it('reports breakers added, removed and replaced under the same name, and the health', () => {
    const registry = new BreakerRegistry();
    registry.get('stays');
    registry.get('goes');
    registry.register('swapped', new CircuitBreaker({ name: 'swapped' }));
    const sampler = new HistorySampler(registry, 5);
    registry.delete('goes');
    registry.delete('swapped');
    registry.register('swapped', new CircuitBreaker({ name: 'swapped' }), {
      criticality: 'critical',
    });
    registry.get('new').forceOpen();
    sampler.sample();
    expect(sampler.removed.sort()).toEqual(['goes', 'swapped']);
    expect(sampler.added.map((t) => t.name).sort()).toEqual(['new', 'swapped']);
    expect(sampler.size).toBe(3);
    expect(sampler.status).toBe('degraded');
    registry.get('swapped').forceOpen();
    sampler.sample();
    expect([sampler.added, sampler.removed]).toEqual([[], []]);
    expect(sampler.status).toBe('critical');
  });

  it('samples 10,000 breakers: every history right, the busy ones listed as changed', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock });
    const breakers = Array.from({ length: 10_000 }, (_, i) => registry.get(`tenant-${i}`));
    const sampler = new HistorySampler(registry, 60);
    for (let round = 1; round <= 3; round++) {
      // Breaker i makes i % 4 calls per round; every tenth breaker fails its first (500 of them
      // make calls: the multiples of 10 that are not multiples of 4).
      for (let i = 0; i < breakers.length; i++) {
        const breaker = breakers[i] as CircuitBreaker<unknown>;
        for (let call = 0; call < i % 4; call++) {
          await breaker.execute(i % 10 === 0 && call === 0 ? failing : ok).catch(() => {});
        }
      }
      sampler.sample();
      expect(sampler.changed).toHaveLength(7_500);
    }
    expect(sampler.size).toBe(10_000);
    for (const i of [0, 1, 2, 3, 10, 9_999]) {
      const calls = i % 4;
      const errors = i % 10 === 0 && calls > 0 ? 1 : 0;
      expect(sampler.get(`tenant-${i}`)?.history.view(), `tenant-${i}`).toEqual({
        calls: [calls, calls, calls],
        errors: [errors, errors, errors],
      });
    }
    const totals = { calls: 0, errors: 0 };
    for (let i = 0; i < breakers.length; i++) {
      const view = sampler.get(`tenant-${i}`)?.history.view();
      totals.calls += view?.calls.reduce((a, b) => a + b, 0) ?? 0;
      totals.errors += view?.errors.reduce((a, b) => a + b, 0) ?? 0;
    }
    expect(totals).toEqual({ calls: 3 * 15_000, errors: 3 * 500 });
  });
});
