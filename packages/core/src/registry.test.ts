import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { failOnce, succeedOnce } from '../test/helpers.js';

const onClock = (options: ConstructorParameters<typeof BreakerRegistry>[0] = {}) => {
  const clock = new ManualClock(1_000_000);
  return { clock, registry: new BreakerRegistry({ clock, ...options }) };
};

describe('BreakerRegistry.get', () => {
  it('makes a breaker from the defaults on first use and returns the same one after', async () => {
    const { registry } = onClock({ defaults: { failureThreshold: 2 } });
    const a = registry.get('api.example.com');
    expect(registry.get('api.example.com', { failureThreshold: 9 })).toBe(a);
    expect(a.name).toBe('api.example.com');
    await failOnce(a);
    await failOnce(a);
    expect(a.state().name).toBe('open');
    const b = registry.get('b.example.com', { failureThreshold: 1 });
    await failOnce(b);
    expect(b.state().name).toBe('open');
    expect(registry.size).toBe(2);
  });

  it('checks its options and the defaults up front', () => {
    expect(() => new BreakerRegistry({ defaults: { failureThreshold: 0 } })).toThrow(
      /BreakerRegistry: option "defaults": CircuitBreaker: option "failureThreshold" must be an integer >= 1, got 0/,
    );
    expect(() => new BreakerRegistry({ defaults: { name: 'x' } as never })).toThrow(
      /cannot hold "name"/,
    );
    expect(() => new BreakerRegistry({ maxBreakers: 0 })).toThrow(
      /"maxBreakers" must be an integer >= 1/,
    );
    expect(() => new BreakerRegistry({ idleTtl: -5 })).toThrow(/"idleTtl"/);
    expect(() => new BreakerRegistry({ maxBreaker: 5 } as never)).toThrow(
      /unknown option "maxBreaker"/,
    );
    expect(() => new BreakerRegistry().get('')).toThrow(
      /a breaker name must be a non-empty string/,
    );
  });

  it('refuses null options instead of taking the defaults', () => {
    expect(() => new BreakerRegistry({ defaults: null as never })).toThrow(/got null/);
    expect(() => new BreakerRegistry({ criticality: null as never })).toThrow(
      /criticality must be .*got null/,
    );
    expect(() =>
      new BreakerRegistry().register('x', new CircuitBreaker({ name: 'x' }), {
        criticality: null as never,
      }),
    ).toThrow(/criticality must be .*got null/);
  });
});

describe('maxBreakers', () => {
  it('drops the least recently used breaker that has nothing to remember', async () => {
    const { registry } = onClock({ maxBreakers: 3, defaults: { failureThreshold: 1 } });
    const a = registry.get('a');
    registry.get('b');
    registry.get('c');
    registry.get('a'); // a is now the most recent; b the least
    registry.get('d');
    expect(['a', 'b', 'c', 'd'].filter((n) => registry.has(n))).toEqual(['a', 'c', 'd']);
    // An open breaker is kept, whatever its age: its state matters.
    await failOnce(registry.get('c'));
    registry.get('a');
    registry.get('d');
    registry.get('e');
    expect(registry.has('c')).toBe(true);
    expect(registry.has('a')).toBe(false);
    expect(a.metrics().totalRequests).toBe(0);
  });

  it('runs over rather than drop state worth keeping', async () => {
    const { registry } = onClock({ maxBreakers: 2, defaults: { failureThreshold: 1 } });
    await failOnce(registry.get('a'));
    await failOnce(registry.get('b'));
    registry.get('c');
    expect(registry.size).toBe(3);
  });
});

describe('idleTtl', () => {
  it('drops breakers neither looked up nor called for idleTtl, open ones included', async () => {
    const { registry, clock } = onClock({ idleTtl: 60_000, defaults: { failureThreshold: 1 } });
    registry.get('quiet');
    await failOnce(registry.get('gone-host'));
    const held = registry.get('held');
    held.forceOpen();
    const db = registry.get('db');
    // Called through a reference kept from the first get(): that is use too.
    for (let t = 0; t < 120; t++) {
      clock.advance(1_000);
      await succeedOnce(db);
    }
    const sweep = () => {
      for (let i = 0; i < 3; i++) registry.get('busy');
    };
    sweep();
    expect(registry.has('quiet')).toBe(false);
    // Its one call came after its last lookup: it gets another idleTtl from this sweep.
    expect(registry.has('gone-host')).toBe(true);
    for (let t = 0; t < 60; t++) {
      clock.advance(1_000);
      await succeedOnce(db);
    }
    sweep();
    expect(registry.has('gone-host')).toBe(false);
    expect(registry.has('db')).toBe(true);
    expect(registry.has('held')).toBe(true); // an operator's choice is kept
  });

  it('survives a listener that changes the registry while it sweeps', async () => {
    let now = 0;
    const clock = { now: () => now }; // no timers: half-open happens when the state is read
    const registry = new BreakerRegistry({
      clock,
      idleTtl: 1_000,
      defaults: { failureThreshold: 1, openDuration: 500 },
    });
    registry.on('halfOpen', ({ breaker }) => registry.delete(breaker));
    await failOnce(registry.get('x'));
    registry.get('a');
    now = 1_500;
    registry.get('fresh'); // x was called since its lookup: it gets another idleTtl
    now = 3_000;
    registry.get('fresh'); // the sweep reads x, which goes half-open and is deleted by the listener
    expect(registry.has('x')).toBe(false);
    const again = registry.get('x');
    now = 3_500;
    registry.get('fresh');
    registry.get('fresh');
    expect(registry.get('x')).toBe(again);
    now = 10_000;
    for (let i = 0; i < 5; i++) registry.get('latest');
    now = 20_000;
    for (let i = 0; i < 5; i++) registry.get('latest');
    expect(['a', 'x', 'fresh', 'latest'].filter((n) => registry.has(n))).toEqual(['latest']);
  });
});

describe('health', () => {
  it("rolls up each breaker's criticality: the guide's database, permission service and cache", async () => {
    const registry = new BreakerRegistry();
    const clock = new ManualClock(0);
    const make = (name: string) =>
      new CircuitBreaker({ name, failureThreshold: 1, openDuration: 1_000, clock });
    const database = make('database');
    const permissions = make('permissions');
    const cache = make('cache');
    registry.register('database', database, { criticality: 'critical' });
    registry.register('permissions', permissions, { criticality: 'degraded' });
    registry.register('cache', cache, { criticality: 'warning' });
    expect(registry.health().status).toBe('healthy');
    await failOnce(cache);
    expect(registry.health().status).toBe('warning');
    await failOnce(permissions);
    expect(registry.health().status).toBe('degraded');
    await failOnce(database);
    const health = registry.health();
    expect(health.status).toBe('critical');
    expect(health.breakers).toContainEqual({
      name: 'database',
      state: 'open',
      criticality: 'critical',
      status: 'critical',
    });
    clock.advance(1_000); // all half-open: recovering, a warning
    expect(registry.health().status).toBe('warning');
    await succeedOnce(database);
    await succeedOnce(database);
    await succeedOnce(database);
    expect(registry.health().breakers.find((b) => b.name === 'database')?.status).toBe('healthy');
  });

  it('refuses a second breaker under one name, another name, and bad options', () => {
    const registry = new BreakerRegistry();
    registry.register('db', new CircuitBreaker({ name: 'db' }));
    expect(() => registry.register('db', new CircuitBreaker({ name: 'db' }))).toThrow(
      /already registered/,
    );
    expect(() => registry.register('database', new CircuitBreaker({ name: 'db' }))).toThrow(
      /the breaker is called "db", not "database"/,
    );
    const x = new CircuitBreaker({ name: 'x' });
    expect(() => registry.register('x', x, { criticality: 'high' as never })).toThrow(
      /criticality must be "critical", "degraded" or "warning", got "high"/,
    );
    expect(() => registry.register('x', x, { criticallity: 'critical' } as never)).toThrow(
      /unknown option "criticallity"/,
    );
    expect(() => registry.register('y', {} as never)).toThrow(/needs a CircuitBreaker/);
  });
});

describe('snapshot and events', () => {
  it('takes a JSON-safe snapshot of every state and its metrics', async () => {
    const { registry } = onClock();
    registry.get('a').forceOpen();
    await succeedOnce(registry.get('b'));
    const snapshot = registry.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.breakers).toEqual([
      expect.objectContaining({
        name: 'a',
        state: expect.objectContaining({ name: 'open', until: null }),
      }),
      expect.objectContaining({
        name: 'b',
        metrics: expect.objectContaining({ successfulRequests: 1 }),
      }),
    ]);
  });

  it('stops forwarding once the last registry listener is gone, so no breaker keeps a timer', async () => {
    const { registry, clock } = onClock({ defaults: { failureThreshold: 1 } });
    const off = registry.on('stateChange', () => {});
    await failOnce(registry.get('a'));
    expect(clock.pendingTimers).toBe(1); // a stateChange listener gets half-open on time
    off();
    await failOnce(registry.get('b'));
    expect(clock.pendingTimers).toBe(0);
  });

  it("forwards every breaker's events, present and future, until unsubscribed or dropped", async () => {
    const { registry } = onClock({ defaults: { failureThreshold: 1 } });
    const before = registry.get('before');
    const opened: string[] = [];
    const off = registry.on('open', ({ breaker }) => opened.push(breaker));
    await failOnce(before);
    await failOnce(registry.get('after'));
    expect(opened).toEqual(['before', 'after']);
    registry.delete('before');
    before.forceClose();
    before.forceOpen();
    off();
    await failOnce(registry.get('later'));
    expect(opened).toEqual(['before', 'after']);
  });

  it('dispose drops everything', () => {
    const { registry } = onClock();
    registry.get('a');
    registry.dispose();
    expect(registry.size).toBe(0);
  });
});
