import { describe, expect, it } from 'vitest';
import { History } from './history.js';

describe('History', () => {
  it('is empty at first, then grows oldest first up to its length', () => {
    const history = new History(3);
    expect(history.view()).toEqual({ calls: [], errors: [] });
    history.push(5, 1);
    history.push(7, 0);
    expect(history.view()).toEqual({ calls: [5, 7], errors: [1, 0] });
  });

  it('drops the oldest sample once full', () => {
    const history = new History(3);
    for (let i = 1; i <= 7; i++) history.push(i, i * 10);
    expect(history.view()).toEqual({ calls: [5, 6, 7], errors: [50, 60, 70] });
  });

  it('keeps one sample with length 1', () => {
    const history = new History(1);
    history.push(1, 0);
    history.push(2, 1);
    expect(history.view()).toEqual({ calls: [2], errors: [1] });
  });
});
