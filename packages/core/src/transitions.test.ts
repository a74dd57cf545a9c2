import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { breakerOnClock, failOnce, succeedOnce } from '../test/helpers.js';

describe('transitionCount() and lastTransition()', () => {
  it('count each change of state as it happens, with no listener, and keep the last', async () => {
    const { clock, breaker } = breakerOnClock({
      failureThreshold: 1,
      openDuration: 1_000,
      jitter: 0,
      successThreshold: 1,
    });
    expect(breaker.lastTransition()).toBeUndefined();
    expect(breaker.transitionCount('closed', 'open')).toBe(0);
    await failOnce(breaker);
    expect(breaker.lastTransition()).toEqual({
      from: 'closed',
      to: 'open',
      reason: 'failure_threshold',
      at: clock.now(),
    });
    // An open shorter than any scrape interval is still counted: the read catches up first.
    clock.advance(1_000);
    expect(breaker.transitionCount('open', 'half_open')).toBe(1);
    await succeedOnce(breaker);
    expect(breaker.lastTransition()).toMatchObject({
      from: 'half_open',
      to: 'closed',
      reason: 'probes_succeeded',
    });
    await failOnce(breaker);
    expect(breaker.transitionCount('closed', 'open')).toBe(2);
    expect(breaker.transitionCount('half_open', 'closed')).toBe(1);
    expect(breaker.transitionCount('closed', 'disabled')).toBe(0);
  });

  it('stamps the end of an open period with the moment it ended, even when read later', async () => {
    const { clock, breaker } = breakerOnClock({ failureThreshold: 1, openDuration: 1_000 });
    await failOnce(breaker);
    const openedAt = clock.now();
    clock.advance(60_000);
    expect(breaker.lastTransition()).toEqual({
      from: 'open',
      to: 'half_open',
      reason: 'open_elapsed',
      at: openedAt + 1_000,
    });
  });

  it('refuses a name that is not a state, rather than reading another pair', () => {
    const { breaker } = breakerOnClock();
    expect(() => breaker.transitionCount('half_open', 'forced_open' as never)).toThrow(
      /"to" must be one of closed, open, half_open, disabled, got "forced_open"/,
    );
    expect(() => breaker.transitionCount('opened' as never, 'closed')).toThrow(TypeError);
  });

  it('counts forcing a timed open as open -> open, and starts over on reset() but keeps the last', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    await failOnce(breaker);
    breaker.forceOpen();
    expect(breaker.transitionCount('open', 'open')).toBe(1);
    expect(breaker.lastTransition()).toMatchObject({
      from: 'open',
      to: 'open',
      reason: 'forced_open',
    });
    breaker.reset();
    expect(breaker.transitionCount('closed', 'open')).toBe(0);
    expect(breaker.transitionCount('open', 'closed')).toBe(0);
    expect(breaker.lastTransition()).toMatchObject({ from: 'open', to: 'closed', reason: 'reset' });
  });
});

describe('BreakerRegistry.forEach()', () => {
  it('visits every breaker with its name and criticality, in the order added', () => {
    const registry = new BreakerRegistry();
    registry.get('a');
    registry.register('b', new CircuitBreaker({ name: 'b' }), { criticality: 'critical' });
    const seen: string[] = [];
    registry.forEach((breaker, name, criticality) => {
      expect(breaker.name).toBe(name);
      seen.push(`${name}:${criticality}`);
    });
    expect(seen).toEqual(['a:degraded', 'b:critical']);
  });
});

describe('BreakerRegistry.find()', () => {
  it('returns the breaker held under a name without making one or counting as use', () => {
    const registry = new BreakerRegistry({ maxBreakers: 1 });
    const a = registry.get('a');
    expect(registry.find('a')).toBe(a);
    expect(registry.find('b')).toBeUndefined();
    expect(registry.criticalityOf('a')).toBe('degraded');
    expect(registry.criticalityOf('b')).toBeUndefined();
    expect(registry.has('b')).toBe(false);
    // find() is not use: making b drops a (the least recently used), as if find() never ran.
    registry.get('b');
    expect(registry.find('a')).toBeUndefined();
  });
});

describe('BreakerRegistry.version', () => {
  it('goes up on every add and removal, also when a swap keeps the size', () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ idleTtl: 1_000, clock });
    const start = registry.version;
    registry.get('a');
    registry.register('b', new CircuitBreaker({ name: 'b' }));
    expect(registry.version).toBe(start + 2);
    registry.delete('b');
    registry.register('b', new CircuitBreaker({ name: 'b' }));
    expect(registry.size).toBe(2);
    expect(registry.version).toBe(start + 4);
    // An idle drop made by get(): one breaker in, one out, the size unchanged.
    clock.advance(2_000);
    registry.get('c');
    expect(registry.has('a')).toBe(false);
    expect(registry.size).toBe(2);
    expect(registry.version).toBe(start + 6);
    registry.get('c');
    expect(registry.version).toBe(start + 6);
  });
});
