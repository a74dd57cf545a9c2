import { describe, expect, it } from 'vitest';
import { resolveConfig } from './manager-config.js';
import { DEFAULT_MEMORY_BUDGET } from './prepare.js';

describe('resolveConfig: memoryBudget', () => {
  it('defaults to 64 MiB, a budget of the manager’s own', () => {
    const a = resolveConfig({}, 1).memoryBudget;
    const b = resolveConfig({}, 1).memoryBudget;
    expect(a.limit).toBe(64 * 1024 * 1024);
    expect(DEFAULT_MEMORY_BUDGET).toBe(64 * 1024 * 1024);
    expect(a).not.toBe(b);
    expect(a.take(1)).toBe(true);
    expect(b.held).toBe(0);
  });

  it('takes 0 (always on disk) and any whole number of bytes', () => {
    expect(resolveConfig({ memoryBudget: 0 }, 1).memoryBudget.take(1)).toBe(false);
    expect(resolveConfig({ memoryBudget: 2048 }, 1).memoryBudget.limit).toBe(2048);
  });

  it.each([
    [-1, /ScanManager: option "memoryBudget" must be an integer >= 0, got -1/],
    [1.5, /option "memoryBudget" must be an integer >= 0, got 1.5/],
    [Number.POSITIVE_INFINITY, /option "memoryBudget" must be an integer >= 0/],
    ['64MiB', /option "memoryBudget" must be a number, got "64MiB"/],
  ])('refuses %j', (memoryBudget, message) => {
    expect(() => resolveConfig({ memoryBudget: memoryBudget as number }, 1)).toThrow(message);
  });
});
