import { CircuitBreaker, CircuitOpenError, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { connectionRefused, type Deferred, deferred } from '../test/helpers.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('10,000 concurrent calls while the breaker flips', () => {
  it('never runs more probes at once than halfOpenMaxProbes, and the metrics always add up', async () => {
    const CALLS = 10_000;
    const MAX_PROBES = 3;
    const next = random(0xb2ea4);
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({
      failureThreshold: 5,
      openDuration: 50,
      successThreshold: 2,
      halfOpenMaxProbes: MAX_PROBES,
      clock,
    });
    // Each half-open period gets a number; an operation remembers the period it started in.
    let period = 0;
    breaker.on('halfOpen', () => period++);
    const running: { settle: Deferred<string>; period: number | undefined }[] = [];
    const probesRunning = new Map<number, number>();
    let mostProbes = 0;
    let mostInFlight = 0;
    let started = 0;
    // What the callers saw, counted on their side, to hold the metrics against.
    const seen = { ok: 0, refused: 0, failed: 0 };
    const outcomes: Promise<void>[] = [];

    const start = () => {
      started++;
      const call = breaker.execute(() => {
        const settle = deferred<string>();
        const probing = breaker.state().name === 'half_open' ? period : undefined;
        if (probing !== undefined) {
          const now = (probesRunning.get(probing) ?? 0) + 1;
          probesRunning.set(probing, now);
          mostProbes = Math.max(mostProbes, now);
        }
        running.push({ settle, period: probing });
        mostInFlight = Math.max(mostInFlight, running.length);
        return settle.promise;
      });
      outcomes.push(
        call.then(
          () => {
            seen.ok++;
          },
          (error: unknown) => {
            if (error instanceof CircuitOpenError) seen.refused++;
            else if ((error as { code?: string }).code === 'ECONNREFUSED') seen.failed++;
            else throw error;
          },
        ),
      );
    };
    const settleOne = () => {
      const at = Math.floor(next() * running.length);
      const [op] = running.splice(at, 1);
      if (op === undefined) return;
      if (op.period !== undefined)
        probesRunning.set(op.period, (probesRunning.get(op.period) ?? 1) - 1);
      // The dependency takes turns being healthy and in an outage, so the breaker flips.
      const outage = Math.floor(steps / 1_500) % 2 === 1;
      if (next() < (outage ? 0.1 : 0.97)) op.settle.resolve('ok');
      else op.settle.reject(connectionRefused());
    };

    let steps = 0;
    while (started < CALLS || running.length > 0) {
      const roll = next();
      if (started < CALLS && roll < 0.7) start();
      else if (roll < 0.95) settleOne();
      else clock.advance(Math.floor(next() * 40));
      if (++steps % 97 === 0) {
        await flush();
        const m = breaker.metrics();
        expect(m.successfulRequests).toBe(seen.ok);
        expect(m.rejectedRequests).toBe(seen.refused);
        expect(m.failedRequests).toBe(seen.failed);
        expect(m.totalRequests).toBeLessThanOrEqual(started);
      }
    }
    await Promise.all(outcomes);
    await flush();

    expect(mostProbes).toBeGreaterThan(0);
    expect(mostProbes).toBeLessThanOrEqual(MAX_PROBES);
    expect(period).toBeGreaterThan(10); // it really flipped, many times
    expect(mostInFlight).toBeGreaterThan(500); // with hundreds of calls in flight at once
    const m = breaker.metrics();
    expect(seen.ok + seen.refused + seen.failed).toBe(CALLS);
    expect(m).toMatchObject({
      totalRequests: CALLS,
      successfulRequests: seen.ok,
      rejectedRequests: seen.refused,
      failedRequests: seen.failed,
      ignoredErrors: 0,
    });
    expect(m.rejectedRequests).toBeGreaterThan(0);
  }, 60_000);
});
