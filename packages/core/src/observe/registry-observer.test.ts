import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import {
  AUTOMATIC_TRANSITIONS,
  type BreakerReading,
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  HEALTH_STATUSES,
  OTHER,
  RegistryObserver,
  TRANSITION_PAIRS,
} from '@breakwater/core/observe';
import { describe, expect, it } from 'vitest';
import { failOnce, succeedOnce } from '../../test/helpers.js';

/** A copy of what one reading said, by label, so a test can compare after the walk. */
interface Seen {
  name: string;
  series: string;
  states: Record<string, number>;
  calls: Record<string, number>;
  transitions: Record<string, number>;
  failureRate: number;
  slowCallRate: number;
}

function copy(reading: BreakerReading<string>): Seen {
  const transitions: Record<string, number> = {};
  TRANSITION_PAIRS.forEach(([from, to], i) => {
    if (reading.shows(i)) transitions[`${from}>${to}`] = reading.transitions[i] as number;
  });
  return {
    name: reading.name,
    series: reading.series,
    states: Object.fromEntries(CIRCUIT_STATES.map((s, i) => [s, reading.states[i] as number])),
    calls: Object.fromEntries(CALL_OUTCOMES.map((o, i) => [o, reading.calls[i] as number])),
    transitions,
    failureRate: reading.failureRate,
    slowCallRate: reading.slowCallRate,
  };
}

/** A registry on a ManualClock whose breakers open on one failure for 1 s. */
function setup(maxBreakers: number) {
  const clock = new ManualClock(1_000_000);
  const registry = new BreakerRegistry({
    clock,
    defaults: { failureThreshold: 1, openDuration: 1_000, jitter: 0, successThreshold: 1 },
  });
  const made: string[] = [];
  const released: string[] = [];
  const observer = new RegistryObserver<string>(registry, {
    maxBreakers,
    series: (name) => {
      made.push(name);
      return `series:${name}`;
    },
    released: (series) => released.push(series),
  });
  const walk = () => {
    const seen: Seen[] = [];
    const summary = observer.walk((reading) => seen.push(copy(reading)));
    return { summary, seen, byName: new Map(seen.map((s) => [s.name, s])) };
  };
  return { clock, registry, observer, made, released, walk };
}

const AUTOMATIC_AT_ZERO = {
  'closed>open': 0,
  'open>half_open': 0,
  'half_open>open': 0,
  'half_open>closed': 0,
};

describe('RegistryObserver', () => {
  it('gives the first maxBreakers their own series and sums the rest as _other', async () => {
    const { registry, walk, made } = setup(2);
    await succeedOnce(registry.get('a'));
    await failOnce(registry.get('b'));
    await succeedOnce(registry.get('c'));
    await succeedOnce(registry.get('c'));
    await failOnce(registry.get('d'));
    const { summary, seen, byName } = walk();
    expect(seen.map((s) => s.name)).toEqual(['a', 'b', OTHER]);
    expect(made).toEqual(['a', 'b', OTHER]);
    expect(summary).toEqual({ health: 2, breakers: 4, overflow: 2 });
    expect(HEALTH_STATUSES[summary.health]).toBe(registry.health().status);
    expect(byName.get('a')).toMatchObject({
      series: 'series:a',
      states: { closed: 1, open: 0, half_open: 0, forced_open: 0, disabled: 0 },
      calls: { success: 1, failure: 0, ignored: 0, rejected: 0, timeout: 0, fallback: 0 },
      transitions: AUTOMATIC_AT_ZERO,
      failureRate: -1,
    });
    expect(byName.get('b')).toMatchObject({
      states: { closed: 0, open: 1 },
      calls: { failure: 1 },
      transitions: { ...AUTOMATIC_AT_ZERO, 'closed>open': 1 },
    });
    expect(byName.get(OTHER)).toMatchObject({
      series: `series:${OTHER}`,
      states: { closed: 1, open: 1, half_open: 0, forced_open: 0, disabled: 0 },
      calls: { success: 2, failure: 1, rejected: 0 },
      transitions: { ...AUTOMATIC_AT_ZERO, 'closed>open': 1 },
      failureRate: -1,
      slowCallRate: -1,
    });
  });

  it('visits _other from the first walk, at 0, before any breaker fell past maxBreakers', async () => {
    const { registry, walk } = setup(2);
    await succeedOnce(registry.get('a'));
    const first = walk();
    expect(first.seen.map((s) => s.name)).toEqual(['a', OTHER]);
    expect(first.summary.overflow).toBe(0);
    expect(first.byName.get(OTHER)).toMatchObject({
      states: { closed: 0, open: 0, half_open: 0, forced_open: 0, disabled: 0 },
      calls: { success: 0, failure: 0, ignored: 0, rejected: 0, timeout: 0, fallback: 0 },
      transitions: AUTOMATIC_AT_ZERO,
    });
    // So the first opening in _other is an increase of a series already there.
    registry.get('b');
    await failOnce(registry.get('c'));
    expect(walk().byName.get(OTHER)?.transitions).toEqual({
      ...AUTOMATIC_AT_ZERO,
      'closed>open': 1,
    });
  });

  it('shows the four automatic pairs at 0 from the first walk, any other once it happened, and keeps it at 0 after a reset', async () => {
    const { registry, walk } = setup(10);
    const a = registry.get('a');
    expect(walk().byName.get('a')?.transitions).toEqual(AUTOMATIC_AT_ZERO);
    a.forceOpen();
    a.forceClose();
    expect(walk().byName.get('a')?.transitions).toEqual({
      ...AUTOMATIC_AT_ZERO,
      'closed>open': 1,
      'open>closed': 1,
    });
    a.reset();
    expect(walk().byName.get('a')?.transitions).toEqual({ ...AUTOMATIC_AT_ZERO, 'open>closed': 0 });
    expect(AUTOMATIC_TRANSITIONS.toString(2).replaceAll('0', '').length).toBe(4);
  });

  it('counts a forced open and a disabled breaker in their own states and the health rank', () => {
    const { registry, walk } = setup(1);
    registry.register('db', new CircuitBreaker({ name: 'db' }), { criticality: 'critical' });
    registry.get('x').disable();
    registry.get('db').forceOpen();
    const { summary, byName } = walk();
    expect(byName.get('db')?.states).toMatchObject({ open: 0, forced_open: 1 });
    expect(byName.get(OTHER)?.states).toMatchObject({ disabled: 1, closed: 0 });
    expect(summary.health).toBe(3);
  });

  it('keeps each breaker where it was first put: one leaving does not move another into its place', async () => {
    const { registry, walk, released } = setup(2);
    registry.get('a');
    registry.get('b');
    await succeedOnce(registry.get('c'));
    walk();
    registry.delete('a');
    const after = walk();
    // c stays in _other, with its call counted once; a's slot is free for the next newcomer.
    expect(after.seen.map((s) => s.name)).toEqual(['b', OTHER]);
    expect(after.byName.get(OTHER)?.calls.success).toBe(1);
    expect(released).toEqual(['series:a']);
    registry.get('d');
    expect(walk().seen.map((s) => s.name)).toEqual(['b', 'd', OTHER]);
  });

  it('keeps _other monotonic: departed breakers stay counted, a reset counts afresh', async () => {
    const { registry, walk } = setup(0);
    const x = registry.get('x');
    const y = registry.get('y');
    for (let i = 0; i < 3; i++) await succeedOnce(x);
    await succeedOnce(y);
    expect(walk().byName.get(OTHER)?.calls.success).toBe(4);
    registry.delete('x');
    await succeedOnce(y);
    expect(walk().byName.get(OTHER)?.calls.success).toBe(5);
    y.reset();
    await succeedOnce(y);
    // Down from 2 to 1: a reset, so the 1 is new.
    expect(walk().byName.get(OTHER)?.calls.success).toBe(6);
    registry.delete('y');
    const empty = walk();
    // No breaker past the limit now, but the counter keeps its total and its states read 0.
    expect(empty.byName.get(OTHER)?.calls.success).toBe(6);
    expect(Object.values(empty.byName.get(OTHER)?.states ?? {})).toEqual([0, 0, 0, 0, 0]);
    expect(empty.summary.overflow).toBe(0);
  });

  it("adds an _other breaker's transitions once, however many walks see them", async () => {
    const { clock, registry, walk } = setup(0);
    const x = registry.get('x');
    await failOnce(x);
    walk();
    clock.advance(1_000);
    await succeedOnce(x);
    const { byName } = walk();
    expect(byName.get(OTHER)?.transitions).toEqual({
      'closed>open': 1,
      'open>half_open': 1,
      'half_open>open': 0,
      'half_open>closed': 1,
    });
    expect(walk().byName.get(OTHER)?.transitions['closed>open']).toBe(1);
  });

  it('gives a breaker made again under the same name a fresh assignment, and drops the old series first', () => {
    const { registry, observer, walk, released, made } = setup(1);
    registry.get('a');
    walk();
    registry.delete('a');
    registry.get('a');
    // A call listener sees the new breaker before any walk: the old slot under that name is freed.
    expect(observer.seriesOf('a')).toBe('series:a');
    expect(released).toEqual(['series:a']);
    expect(made).toEqual(['a', OTHER, 'a']);
    expect(walk().seen.map((s) => s.name)).toEqual(['a', OTHER]);
  });

  it('never holds more than maxBreakers own series, however many breakers churn between walks', () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock, maxBreakers: 5 });
    let live = 0;
    let most = 0;
    const observer = new RegistryObserver<number>(registry, {
      maxBreakers: 3,
      series: (name) => {
        if (name !== OTHER) most = Math.max(most, ++live);
        return live;
      },
      released: () => live--,
    });
    const labels = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      registry.get(`key-${i}`);
      const series = observer.seriesOf(`key-${i}`);
      labels.add(series === undefined ? 'none' : String(series));
    }
    expect(most).toBe(3);
    observer.walk(() => {});
    // The walk frees the slots of breakers the registry dropped.
    expect(live).toBeLessThanOrEqual(3);
    expect(registry.size).toBe(5);
  });

  it('between walks, a newcomer finds the place of a breaker the registry dropped', () => {
    // An LRU registry no bigger than maxBreakers: every breaker it holds deserves its own series.
    const registry = new BreakerRegistry({ clock: new ManualClock(0), maxBreakers: 3 });
    let live = 0;
    const observer = new RegistryObserver<string>(registry, {
      maxBreakers: 3,
      series: (name) => {
        live++;
        return name;
      },
      released: () => live--,
    });
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) {
      registry.get(`key-${i}`);
      seen.add(observer.seriesOf(`key-${i}`));
    }
    expect(seen.has(OTHER)).toBe(false);
    expect(live).toBe(3);
  });

  it('between walks, newcomers find dropped holders behind any number of live ones (LRU registry within maxBreakers)', () => {
    // 20 hot breakers made first and used all the time hold the oldest places; the LRU drops the
    // cold keys behind them. Every breaker the registry holds deserves its own series.
    const registry = new BreakerRegistry({ clock: new ManualClock(0), maxBreakers: 30 });
    let live = 0;
    const observer = new RegistryObserver<string>(registry, {
      maxBreakers: 30,
      series: (name) => {
        if (name !== OTHER) live++;
        return name;
      },
      released: () => live--,
    });
    for (let i = 0; i < 20; i++) observer.seriesOf(registry.get(`hot-${i}`).name);
    const placed = new Set<string | undefined>();
    for (let i = 0; i < 500; i++) {
      for (let h = 0; h < 20; h++) registry.get(`hot-${h}`);
      registry.get(`key-${i}`);
      placed.add(observer.seriesOf(`key-${i}`));
    }
    expect(placed.has(OTHER)).toBe(false);
    expect(live).toBe(30);
    expect(registry.size).toBe(30);
  });

  it('past maxBreakers, each newcomer between walks looks at 16 holders, on from where the last look stopped', () => {
    const { registry, observer, walk } = setup(20);
    for (let i = 0; i < 25; i++) registry.get(`b-${i}`);
    walk();
    // b-17 holds the 18th place: past the 16 a look covers.
    registry.delete('b-17');
    registry.get('late-1');
    registry.get('late-2');
    expect(registry.size).toBeGreaterThan(20);
    expect(observer.seriesOf('late-1')).toBe(`series:${OTHER}`);
    expect(observer.seriesOf('late-2')).toBe('series:late-2');
  });

  it("adds an _other breaker's operator transitions once, and after a reset what came since", () => {
    const { registry, walk } = setup(0);
    const x = registry.get('x');
    x.disable();
    x.forceClose();
    walk();
    x.forceOpen();
    x.forceClose();
    expect(walk().byName.get(OTHER)?.transitions).toEqual({
      ...AUTOMATIC_AT_ZERO,
      'closed>open': 1,
      'open>closed': 1,
      'closed>disabled': 1,
      'disabled>closed': 1,
    });
    x.reset();
    // A walk reads the counts back at 0, so the next disable() is new.
    expect(walk().byName.get(OTHER)?.transitions['closed>disabled']).toBe(1);
    x.disable();
    expect(walk().byName.get(OTHER)?.transitions).toMatchObject({
      'closed>open': 1,
      'closed>disabled': 2,
      'disabled>closed': 1,
    });
  });

  it('seriesOf: own series, _other past the limit, undefined once the registry dropped the breaker', () => {
    const { registry, observer } = setup(1);
    registry.get('a');
    registry.get('b');
    observer.prime();
    expect(observer.seriesOf('b')).toBe(`series:${OTHER}`);
    expect(observer.seriesOf('a')).toBe('series:a');
    expect(observer.seriesOf('gone')).toBeUndefined();
  });

  it('prime() assigns in registry order, not in the order calls are first seen', () => {
    const { registry, observer, walk } = setup(1);
    registry.get('first');
    registry.get('second');
    observer.prime();
    expect(observer.seriesOf('second')).toBe(`series:${OTHER}`);
    expect(walk().seen.map((s) => s.name)).toEqual(['first', OTHER]);
  });

  it('reads the rates core has, and none below minimumCalls', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({
      clock,
      defaults: { window: { type: 'count', size: 10, minimumCalls: 2, failureRateThreshold: 0.9 } },
    });
    const observer = new RegistryObserver<string>(registry, { series: (name) => name });
    const rates = () => {
      const seen: Seen[] = [];
      observer.walk((reading) => seen.push(copy(reading)));
      return seen[0];
    };
    const a = registry.get('a');
    await succeedOnce(a);
    expect(rates()).toMatchObject({ failureRate: -1, slowCallRate: -1 });
    await failOnce(a);
    expect(rates()).toMatchObject({ failureRate: 0.5, slowCallRate: 0 });
  });

  it('refuses bad options with messages that name them', () => {
    const registry = new BreakerRegistry();
    const series = (name: string) => name;
    expect(() => new RegistryObserver(registry, { series, maxBreakers: -1 })).toThrow(
      /RegistryObserver: option "maxBreakers" must be an integer >= 0, got -1/,
    );
    expect(() => new RegistryObserver(registry, { series, maxBreaker: 3 } as never)).toThrow(
      /unknown option "maxBreaker"/,
    );
    expect(() => new RegistryObserver(registry, {} as never)).toThrow(
      /option "series" must be a function/,
    );
    expect(() => new RegistryObserver(registry, { series, released: 1 } as never)).toThrow(
      /option "released" must be a function/,
    );
    expect(() => new RegistryObserver({} as never, { series })).toThrow(
      /the registry must have a forEach\(\) method, got an object/,
    );
    const sizeless = {
      forEach: registry.forEach.bind(registry),
      find: registry.find.bind(registry),
    };
    expect(() => new RegistryObserver(sizeless as never, { series })).toThrow(
      /the registry must have a numeric size, got undefined/,
    );
  });
});
