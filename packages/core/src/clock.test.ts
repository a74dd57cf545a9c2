import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';

describe('ManualClock', () => {
  it('moves only when told, firing due timers in order at their due time', () => {
    const clock = new ManualClock(100);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 20);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 10);
    const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 15);
    clock.clearTimeout(cancelled);
    clock.advance(15);
    expect(fired).toEqual([['a', 110]]);
    expect(clock.now()).toBe(115);
    clock.advance(100);
    expect(fired).toEqual([
      ['a', 110],
      ['b', 120],
    ]);
    expect(clock.now()).toBe(215);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires a timer scheduled by a firing timer within the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 5), 5);
    clock.advance(10);
    expect(fired).toEqual([10]);
  });

  it('rejects bad input', () => {
    expect(() => new ManualClock(Number.NaN)).toThrow(/start must be a finite number, got NaN/);
    expect(() => new ManualClock().advance(-1)).toThrow(
      /advance\(ms\) needs a finite ms >= 0, got -1/,
    );
  });
});
