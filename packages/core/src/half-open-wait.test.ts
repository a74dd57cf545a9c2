import { type CircuitBreaker, CircuitOpenError } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { breakerOnClock, deferred, failOnce, hangingCall, succeedOnce } from '../test/helpers.js';

/** A breaker that opened once and whose open period has just passed. */
async function halfOpen(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const made = breakerOnClock({ failureThreshold: 1, openDuration: 1_000, ...options });
  await failOnce(made.breaker);
  made.clock.advance(1_000);
  return made;
}

describe('halfOpenMaxWait', () => {
  it('a probe that never settles: the next call after the wait re-opens the breaker, attempt + 1', async () => {
    const { clock, breaker } = await halfOpen({
      halfOpenMaxWait: 5_000,
      openDuration: ({ attempt }) => attempt * 1_000,
    });
    hangingCall(breaker);
    clock.advance(4_999);
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({
      state: 'half_open',
      retryAfter: 0,
    });
    clock.advance(1);
    const opens: { reason: string; attempt: number }[] = [];
    breaker.on('open', ({ reason, attempt }) => opens.push({ reason, attempt }));
    // Admission notices the period has run out; this caller is rejected by the new open period.
    const refused = await breaker.execute(async () => 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toMatchObject({ state: 'open', retryAfter: 2_000 });
    expect(opens).toEqual([{ reason: 'half_open_timeout', attempt: 2 }]);
    expect(breaker.metrics().timesOpened).toBe(2);
    // The backoff applies, and the next half-open period probes afresh.
    clock.advance(2_000);
    await succeedOnce(breaker);
    expect(breaker.state()).toEqual({ name: 'half_open', successCount: 1, probeCount: 0 });
  });

  it("the hung probe's late result is counted in the metrics but moves nothing", async () => {
    const { clock, breaker } = await halfOpen({ successThreshold: 1, halfOpenMaxWait: 5_000 });
    const probe = deferred<string>();
    const call = breaker.execute(() => probe.promise);
    clock.advance(5_000);
    expect(breaker.state()).toMatchObject({ name: 'open', until: clock.now() + 1_000 });
    probe.resolve('late');
    await expect(call).resolves.toBe('late');
    expect(breaker.state().name).toBe('open');
    expect(breaker.metrics()).toMatchObject({ successfulRequests: 1, timesClosed: 0 });
  });

  it('a result arriving after the wait, with no call in between, is late too', async () => {
    const { clock, breaker } = await halfOpen({ successThreshold: 1, halfOpenMaxWait: 5_000 });
    const reasons: string[] = [];
    const probe = deferred<string>();
    const call = breaker.execute(() => probe.promise);
    clock.advance(6_000);
    // Subscribed only now, so no timer was running: the result is where it is noticed.
    breaker.on('open', ({ reason }) => reasons.push(reason));
    probe.resolve('late');
    await call;
    expect(reasons).toEqual(['half_open_timeout']);
    expect(breaker.state().name).toBe('open');
  });

  it('with a state listener, a timer re-opens the breaker on time, with no traffic, and never outlives the wait', async () => {
    const { clock, breaker } = await halfOpen({ halfOpenMaxWait: 5_000 });
    const changes: string[] = [];
    breaker.on('stateChange', ({ from, to, reason }) => changes.push(`${from}->${to} ${reason}`));
    const probe = deferred<string>();
    const call = breaker.execute(() => probe.promise);
    const admittedAt = clock.now();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5_000);
    expect(changes).toEqual(['open->half_open open_elapsed', 'half_open->open half_open_timeout']);
    expect(breaker.state()).toMatchObject({ name: 'open', openedAt: admittedAt + 5_000 });
    probe.resolve('late');
    await call;
    // A probe that settles in time takes its timer with it.
    clock.advance(1_000);
    const quick = deferred<string>();
    const next = breaker.execute(() => quick.promise);
    expect(clock.pendingTimers).toBe(1);
    quick.resolve('ok');
    await next;
    expect(clock.pendingTimers).toBe(0);
  });

  it('an idle half-open period never times out: the wait starts when a probe takes a slot', async () => {
    const { clock, breaker } = await halfOpen({ successThreshold: 1, halfOpenMaxWait: 5_000 });
    breaker.on('stateChange', () => {});
    expect(breaker.state().name).toBe('half_open');
    clock.advance(60_000);
    expect(breaker.state().name).toBe('half_open');
    expect(clock.pendingTimers).toBe(0);
    const probe = deferred<string>();
    const call = breaker.execute(() => probe.promise);
    clock.advance(4_999);
    probe.resolve('ok');
    await call;
    expect(breaker.state().name).toBe('closed');
  });

  it('each probe in turn gets the whole wait: it restarts once no probe is in flight', async () => {
    const { clock, breaker } = await halfOpen({ successThreshold: 3, halfOpenMaxWait: 5_000 });
    for (let i = 0; i < 3; i++) {
      const probe = deferred<string>();
      const call = breaker.execute(() => probe.promise);
      clock.advance(4_000);
      probe.resolve('ok');
      await call;
    }
    expect(breaker.state().name).toBe('closed');
  });

  it('overlapping probes that each answer within the wait never time out: every result restarts it', async () => {
    const { clock, breaker } = await halfOpen({
      halfOpenMaxProbes: 2,
      successThreshold: 3,
      halfOpenMaxWait: 5_000,
    });
    const changes: string[] = [];
    breaker.on('stateChange', ({ to, reason }) => changes.push(`${to} ${reason}`));
    // Probes start 1.5 s apart and each answers after 3 s, so one is always in flight.
    const a = deferred<string>();
    const first = breaker.execute(() => a.promise);
    clock.advance(1_500);
    const b = deferred<string>();
    const second = breaker.execute(() => b.promise);
    clock.advance(1_500);
    a.resolve('ok');
    await first;
    const c = deferred<string>();
    const third = breaker.execute(() => c.promise);
    clock.advance(1_500);
    b.resolve('ok');
    await second;
    clock.advance(1_500);
    c.resolve('ok');
    await third;
    expect(changes).toEqual(['half_open open_elapsed', 'closed probes_succeeded']);
  });

  it('a probe that hangs beside answering ones re-opens the breaker a wait after the last result', async () => {
    const { clock, breaker } = await halfOpen({
      halfOpenMaxProbes: 2,
      successThreshold: 3,
      halfOpenMaxWait: 5_000,
    });
    const opens: string[] = [];
    breaker.on('open', ({ reason }) => opens.push(`${clock.now()} ${reason}`));
    hangingCall(breaker);
    clock.advance(1_000);
    const quick = deferred<string>();
    const call = breaker.execute(() => quick.promise);
    clock.advance(3_000);
    quick.resolve('ok');
    await call;
    const answeredAt = clock.now();
    clock.advance(4_999);
    expect(breaker.state()).toMatchObject({ name: 'half_open', successCount: 1, probeCount: 1 });
    clock.advance(1);
    expect(opens).toEqual([`${answeredAt + 5_000} half_open_timeout`]);
  });

  it('defaults to the call timeout when that is longer: a probe is never cut short before its own limit', async () => {
    const { clock, breaker } = await halfOpen({ successThreshold: 1, timeout: 90_000 });
    const probe = deferred<string>();
    const call = breaker.execute(() => probe.promise);
    clock.advance(70_000);
    probe.resolve('ok');
    await expect(call).resolves.toBe('ok');
    expect(breaker.state().name).toBe('closed');
    // A probe that uses all of its timeout fails on it, which re-opens the breaker as a failure.
    await failOnce(breaker);
    clock.advance(1_000);
    const reasons: string[] = [];
    breaker.on('open', ({ reason }) => reasons.push(reason));
    const { call: hung } = hangingCall(breaker);
    hung.catch(() => {});
    clock.advance(89_999);
    expect(breaker.state().name).toBe('half_open');
    clock.advance(1);
    await expect(hung).rejects.toMatchObject({ code: 'BREAKWATER_TIMEOUT' });
    expect(breaker.state().name).toBe('open');
    expect(reasons).toHaveLength(1);
  });

  it('metrics() sees a half-open period that ran out, as state() does, with no call or listener', async () => {
    const { clock, breaker } = await halfOpen({ halfOpenMaxWait: 5_000 });
    hangingCall(breaker);
    clock.advance(5_000);
    expect(breaker.metrics().timesOpened).toBe(2);
    expect(breaker.state().name).toBe('open');
  });

  it('defaults to 60 s, even without a per-call timeout', async () => {
    const { clock, breaker } = await halfOpen();
    hangingCall(breaker);
    clock.advance(59_999);
    expect(breaker.state().name).toBe('half_open');
    clock.advance(1);
    expect(breaker.state()).toMatchObject({ name: 'open', openedAt: clock.now() });
  });
});
