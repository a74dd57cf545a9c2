import { CircuitBreaker } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { breakerOnClock, failOnce, onClock, succeedOnce } from '../test/helpers.js';

/** A call that takes `ms` on the breaker's ManualClock, then succeeds. */
async function slowSuccess(
  breaker: CircuitBreaker<unknown>,
  clock: { advance(ms: number): void },
  ms: number,
) {
  const call = breaker.execute(async () => {
    clock.advance(ms);
    return 'late';
  });
  await expect(call).resolves.toBe('late');
}

describe('count window', () => {
  it('opens when the failure rate over the last N calls reaches the threshold', async () => {
    const { breaker } = breakerOnClock({
      failureThreshold: 100,
      window: { type: 'count', size: 10, minimumCalls: 4, failureRateThreshold: 0.5 },
    });
    await failOnce(breaker);
    await succeedOnce(breaker);
    await failOnce(breaker);
    // 2 of 3: over the rate, but below minimumCalls.
    expect(breaker.metrics().failureRate).toBe(-1);
    expect(breaker.state().name).toBe('closed');
    const reasons: string[] = [];
    breaker.on('open', ({ reason }) => reasons.push(reason));
    await succeedOnce(breaker); // 2 of 4 = 0.5
    expect(breaker.state().name).toBe('open');
    expect(reasons).toEqual(['failure_rate']);
  });

  it('alternating failures never open a consecutive-only breaker, but do open a rate one', async () => {
    const consecutive = breakerOnClock({ failureThreshold: 3 }).breaker;
    const rate = breakerOnClock({
      failureThreshold: 3,
      window: { type: 'count', size: 20, minimumCalls: 10, failureRateThreshold: 0.5 },
    }).breaker;
    for (let i = 0; i < 10; i++) {
      for (const breaker of [consecutive, rate]) {
        if (breaker.state().name !== 'closed') continue;
        await (i % 2 === 0 ? failOnce(breaker) : succeedOnce(breaker));
      }
    }
    expect(consecutive.state().name).toBe('closed');
    expect(rate.state().name).toBe('open');
  });

  it('reports rates in metrics, and starts each closed period with an empty window', async () => {
    const { breaker, clock } = breakerOnClock({
      failureThreshold: 100,
      openDuration: 1_000,
      successThreshold: 1,
      window: { type: 'count', size: 4, minimumCalls: 2, failureRateThreshold: 0.75 },
    });
    await succeedOnce(breaker);
    await failOnce(breaker);
    expect(breaker.metrics()).toMatchObject({ failureRate: 0.5, slowCallRate: 0 });
    await failOnce(breaker); // 2 of 3
    await failOnce(breaker); // 3 of 4 = 0.75
    expect(breaker.state().name).toBe('open');
    clock.advance(1_000);
    await succeedOnce(breaker); // the probe closes it
    expect(breaker.state().name).toBe('closed');
    expect(breaker.metrics().failureRate).toBe(-1);
    await failOnce(breaker);
    expect(breaker.state().name).toBe('closed');
  });

  it('trips at exactly the threshold, whatever floating point makes of threshold × calls', async () => {
    const { breaker } = breakerOnClock({
      failureThreshold: 1_000,
      window: { type: 'count', size: 100, minimumCalls: 100, failureRateThreshold: 0.55 },
    });
    for (let i = 0; i < 45; i++) await succeedOnce(breaker);
    for (let i = 0; i < 54; i++) await failOnce(breaker);
    expect(breaker.state().name).toBe('closed');
    await failOnce(breaker); // 55 of 100
    expect(breaker.state().name).toBe('open');
  });

  it('forceClose() on a closed breaker clears the window too', async () => {
    const { breaker } = breakerOnClock({
      failureThreshold: 100,
      window: { type: 'count', size: 4, minimumCalls: 2, failureRateThreshold: 0.5 },
    });
    await succeedOnce(breaker);
    await succeedOnce(breaker);
    await failOnce(breaker); // 1 of 3
    breaker.forceClose();
    await succeedOnce(breaker);
    expect(breaker.metrics().failureRate).toBe(-1);
  });

  it('reads no clock on the fast path of a count window', async () => {
    const { clock, options } = onClock({
      window: { type: 'count', size: 10, minimumCalls: 5 },
    });
    let reads = 0;
    const counting = {
      now: () => {
        reads++;
        return clock.now();
      },
    };
    const breaker = new CircuitBreaker({ ...options, clock: counting });
    reads = 0;
    for (let i = 0; i < 100; i++) await succeedOnce(breaker);
    expect(reads).toBe(0);
  });

  it('does not count ignored errors', async () => {
    const { breaker } = breakerOnClock({
      failurePolicy: () => false,
      window: { type: 'count', size: 4, minimumCalls: 1 },
    });
    await failOnce(breaker);
    expect(breaker.metrics().failureRate).toBe(-1);
  });
});

describe('time window', () => {
  it('opens on the failure rate of the last `duration` ms, and forgets idle time', async () => {
    const { breaker, clock } = breakerOnClock({
      failureThreshold: 100,
      window: {
        type: 'time',
        duration: 10_000,
        buckets: 10,
        minimumCalls: 4,
        failureRateThreshold: 0.5,
      },
    });
    await failOnce(breaker);
    await failOnce(breaker);
    await failOnce(breaker);
    expect(breaker.metrics().failureRate).toBe(-1);
    // Idle for longer than the window: those failures must not count at 3 a.m.
    clock.advance(60_000);
    await failOnce(breaker);
    await succeedOnce(breaker);
    await succeedOnce(breaker);
    await succeedOnce(breaker);
    expect(breaker.metrics().failureRate).toBe(0.25);
    expect(breaker.state().name).toBe('closed');
  });
});

describe('slow calls', () => {
  const SLOW_CALLS = {
    type: 'count',
    size: 10,
    minimumCalls: 3,
    slowCallDuration: 1_000,
    slowCallRateThreshold: 0.6,
  } as const;

  it('counts a call slower than slowCallDuration as slow, even when it succeeded', async () => {
    const { breaker, clock } = breakerOnClock({ window: SLOW_CALLS });
    const reasons: string[] = [];
    breaker.on('open', ({ reason }) => reasons.push(reason));
    await slowSuccess(breaker, clock, 999);
    await slowSuccess(breaker, clock, 1_000);
    expect(breaker.state().name).toBe('closed');
    await slowSuccess(breaker, clock, 5_000); // 2 of 3 slow
    expect(breaker.state().name).toBe('open');
    expect(reasons).toEqual(['slow_call_rate']);
  });

  it('judges probes too: a slow probe re-opens the breaker, fast ones close it', async () => {
    const { breaker, clock } = breakerOnClock({
      openDuration: 100,
      successThreshold: 2,
      window: SLOW_CALLS,
    });
    const opens: string[] = [];
    breaker.on('open', ({ reason, attempt }) => opens.push(`${reason} ${attempt}`));
    for (let i = 0; i < 3; i++) await slowSuccess(breaker, clock, 1_000);
    expect(opens).toEqual(['slow_call_rate 1']);
    clock.advance(100);
    await slowSuccess(breaker, clock, 1_000);
    expect(breaker.state().name).toBe('open');
    expect(opens).toEqual(['slow_call_rate 1', 'probe_slow 2']);
    clock.advance(100);
    await slowSuccess(breaker, clock, 999);
    await slowSuccess(breaker, clock, 10);
    expect(breaker.state().name).toBe('closed');
    // The slow probe still succeeded for its caller, and is counted so.
    expect(breaker.metrics()).toMatchObject({ successfulRequests: 6, failedRequests: 0 });
  });
});

describe('window options', () => {
  it('rejects bad values with a message naming them', () => {
    const make = (window: unknown) => () =>
      new CircuitBreaker({ window } as ConstructorParameters<typeof CircuitBreaker>[0]);
    expect(make({ type: 'sliding' })).toThrow(/option "window" must be \{ type: 'count'/);
    expect(make({ type: 'count', size: 0 })).toThrow(
      /window: option "size" must be an integer >= 1/,
    );
    expect(make({ type: 'count', size: 5, minimumCalls: 6 })).toThrow(
      /"minimumCalls" \(6\) must be <= size \(5\)/,
    );
    expect(make({ type: 'count', failureRateThreshold: 50 })).toThrow(
      /a fraction above 0 and at most 1 \(0.5 for 50%\), got 50/,
    );
    expect(make({ type: 'time', duration: 100, buckets: 500 })).toThrow(
      /leave each bucket at least 1 ms/,
    );
    expect(make({ type: 'time', size: 10 })).toThrow(/unknown option "size"/);
    expect(make({ type: 'count', slowCallRateThreshold: 0.5 })).toThrow(/needs "slowCallDuration"/);
  });
});
