import { describe, expect, it } from 'vitest';
import { saturatedPort } from './saturated-port.js';

describe('saturatedPort', () => {
  it('ends its child at the end of its lifetime, when nobody closes it', async () => {
    const saturated = await saturatedPort(100);
    try {
      // Bounded here, so a child that sleeps for good fails the test rather than outliving it.
      const outcome = await Promise.race([
        saturated.exited.then(() => 'exited'),
        new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000)),
      ]);
      expect(outcome).toBe('exited');
    } finally {
      saturated.close();
    }
  });
});
