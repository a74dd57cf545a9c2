import { describe, expect, it } from 'vitest';
import { CountWindow, TimeWindow } from './call-window.js';

const counts = (w: { calls: number; failures: number; slowCalls: number }) => [
  w.calls,
  w.failures,
  w.slowCalls,
];

describe('CountWindow', () => {
  it('keeps the last `size` calls, subtracting each evicted one', () => {
    const window = new CountWindow(3);
    window.record(true, false);
    window.record(false, true);
    window.record(true, true);
    expect(counts(window)).toEqual([3, 2, 2]);
    window.record(false, false); // evicts the first (failed)
    expect(counts(window)).toEqual([3, 1, 2]);
    window.record(false, false); // evicts the slow success
    window.record(false, false); // evicts the slow failure
    expect(counts(window)).toEqual([3, 0, 0]);
    window.clear();
    expect(counts(window)).toEqual([0, 0, 0]);
  });

  it('matches a naive recount on a long random sequence', () => {
    const window = new CountWindow(7);
    const all: [boolean, boolean][] = [];
    for (let i = 0; i < 1_000; i++) {
      const call: [boolean, boolean] = [Math.random() < 0.4, Math.random() < 0.3];
      all.push(call);
      window.record(...call);
      const last = all.slice(-7);
      expect(counts(window)).toEqual([
        last.length,
        last.filter(([f]) => f).length,
        last.filter(([, s]) => s).length,
      ]);
    }
  });
});

describe('TimeWindow', () => {
  it('drops buckets as time passes them', () => {
    const window = new TimeWindow(1_000, 4); // 250 ms buckets
    window.record(true, false, 10_000);
    window.record(false, true, 10_300);
    expect(counts(window)).toEqual([2, 1, 1]);
    window.advance(10_999); // still inside [10_000, 11_000)
    expect(counts(window)).toEqual([2, 1, 1]);
    window.advance(11_000); // the first bucket (10_000..10_249) is gone
    expect(counts(window)).toEqual([1, 0, 1]);
    window.advance(11_300);
    expect(counts(window)).toEqual([0, 0, 0]);
  });

  it('is empty after an idle stretch longer than its duration', () => {
    const window = new TimeWindow(60_000, 10);
    for (let i = 0; i < 100; i++) window.record(true, false, 1_000_000 + i);
    expect(window.failures).toBe(100);
    window.record(false, false, 1_000_000 + 3_600_000); // an hour later
    expect(counts(window)).toEqual([1, 0, 0]);
  });

  it('keeps counting into the newest bucket when the clock steps back', () => {
    const window = new TimeWindow(1_000, 10);
    window.record(true, false, 5_000);
    window.record(true, false, 4_000);
    expect(counts(window)).toEqual([2, 2, 0]);
  });

  it('matches a naive recount on a random walk through time', () => {
    const window = new TimeWindow(1_000, 10);
    const all: { at: number; failed: boolean }[] = [];
    let now = 0;
    for (let i = 0; i < 2_000; i++) {
      now += Math.floor(Math.random() * 120);
      const failed = Math.random() < 0.5;
      all.push({ at: now, failed });
      window.record(failed, false, now);
      // The window covers the current 100 ms bucket and the nine before it.
      const from = (Math.floor(now / 100) - 9) * 100;
      const inside = all.filter((c) => c.at >= from);
      expect([window.calls, window.failures]).toEqual([
        inside.length,
        inside.filter((c) => c.failed).length,
      ]);
    }
  });
});
