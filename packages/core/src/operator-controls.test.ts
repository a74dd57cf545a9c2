import { CircuitBreaker, CircuitOpenError } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { breakerOnClock, failOnce, succeedOnce } from '../test/helpers.js';

describe('disable()', () => {
  it('lets every call through and never trips, while still counting', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    await failOnce(breaker);
    expect(breaker.state().name).toBe('open');
    const changes: string[] = [];
    breaker.on('stateChange', ({ from, to, reason }) => changes.push(`${from}->${to} ${reason}`));
    breaker.disable();
    expect(breaker.state()).toEqual({ name: 'disabled' });
    for (let i = 0; i < 5; i++) await failOnce(breaker);
    await succeedOnce(breaker);
    expect(breaker.state().name).toBe('disabled');
    expect(breaker.metrics()).toMatchObject({
      failedRequests: 6,
      successfulRequests: 1,
      rejectedRequests: 0,
    });
    breaker.forceClose();
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 0 });
    await failOnce(breaker);
    expect(breaker.state().name).toBe('open');
    expect(changes).toEqual([
      'open->disabled disabled',
      'disabled->closed forced_close',
      'closed->open failure_threshold',
    ]);
  });

  it('can be isolated (held open) from disabled, and reset to closed', async () => {
    const { breaker } = breakerOnClock();
    breaker.disable();
    breaker.isolate();
    expect(breaker.state()).toMatchObject({
      name: 'open',
      forced: true,
      until: Number.POSITIVE_INFINITY,
    });
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    breaker.disable();
    breaker.reset();
    expect(breaker.state().name).toBe('closed');
  });
});

describe("mode: 'observe'", () => {
  it('never rejects; reports wouldOpen each time a rule fires, then counts afresh', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 3, mode: 'observe' });
    const would: string[] = [];
    breaker.on('wouldOpen', ({ reason }) => would.push(reason));
    for (let i = 0; i < 7; i++) await failOnce(breaker);
    expect(breaker.state()).toEqual({ name: 'closed', failureCount: 1 });
    expect(would).toEqual(['failure_threshold', 'failure_threshold']);
    expect(breaker.metrics()).toMatchObject({
      timesWouldOpen: 2,
      timesOpened: 0,
      rejectedRequests: 0,
    });
  });

  it('observes rate rules too, and forceOpen still enforces', async () => {
    const { breaker } = breakerOnClock({
      failureThreshold: 100,
      mode: 'observe',
      window: { type: 'count', size: 4, minimumCalls: 4, failureRateThreshold: 0.5 },
    });
    const would: string[] = [];
    breaker.on('wouldOpen', ({ reason }) => would.push(reason));
    await failOnce(breaker);
    await succeedOnce(breaker);
    await failOnce(breaker);
    await succeedOnce(breaker);
    expect(would).toEqual(['failure_rate']);
    expect(breaker.metrics().failureRate).toBe(-1); // counting started over
    breaker.forceOpen();
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('rejects an unknown mode', () => {
    expect(() => new CircuitBreaker({ mode: 'shadow' as never })).toThrow(
      /"mode" must be "enforce" or "observe", got "shadow"/,
    );
  });
});
