import {
  BreakerRegistry,
  type BreakerRegistryOptions,
  CircuitBreaker,
  type CircuitBreakerOptions,
  FallbackBehavior,
  type HealthStatus,
  ManualClock,
} from '@breakwater/core';
import { CIRCUIT_STATES } from '@breakwater/core/observe';
import { Gauge, type OpenMetricsContentType, Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { capturingLogger, samplesOf, sampleValue } from '../test/samples.js';
import { collectBreakerMetrics, OVERFLOW_WARNING } from './breaker-metrics.js';
import { MetricNameTakenError } from './errors.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const noop = () => undefined;

function setup(options: BreakerRegistryOptions = {}) {
  const clock = new ManualClock(1_000_000);
  const registry = new BreakerRegistry({
    clock,
    ...options,
    defaults: {
      failureThreshold: 1,
      successThreshold: 1,
      openDuration: 1_000,
      ...options.defaults,
    },
  });
  return { clock, registry, register: new Registry() };
}

function breaker<T = never>(
  clock: ManualClock,
  options: CircuitBreakerOptions<T> & { name: string },
) {
  return new CircuitBreaker<T>({
    clock,
    failureThreshold: 1,
    openDuration: 1_000,
    ...options,
  }) as unknown as CircuitBreaker<unknown>;
}

const succeed = (b: CircuitBreaker<unknown>) => b.execute(async () => 'ok');
const fail = (b: CircuitBreaker<unknown>) => b.execute(() => Promise.reject(refused())).catch(noop);
const failIgnored = (b: CircuitBreaker<unknown>) =>
  b.execute(() => Promise.reject(new Error('bad input'))).catch(noop);

/** A call that takes `ms` on the clock, settled as `outcome`. */
async function takes(
  clock: ManualClock,
  b: CircuitBreaker<unknown>,
  ms: number,
  outcome: 'success' | 'failure' | 'ignored' = 'success',
): Promise<void> {
  let settle!: () => void;
  const call = b.execute(
    () =>
      new Promise((resolve, reject) => {
        settle = () =>
          outcome === 'success'
            ? resolve('ok')
            : reject(outcome === 'failure' ? refused() : new Error('bad input'));
      }),
  );
  clock.advance(ms);
  settle();
  await call.catch(noop);
}

/**
 * Whether `b` times its calls: a call that starts on the fast path has no start time, so a
 * success listener added while it runs gets no `durationMs`.
 */
async function callsAreTimed(b: CircuitBreaker<unknown>): Promise<boolean> {
  let settle!: () => void;
  const call = b.execute(() => new Promise((resolve) => (settle = () => resolve('ok'))));
  const seen: (number | undefined)[] = [];
  const off = b.on('success', ({ durationMs }) => seen.push(durationMs));
  settle();
  await call;
  off();
  expect(seen).toHaveLength(1);
  return seen[0] !== undefined;
}

async function stateOf(register: Registry, name: string) {
  const samples = await samplesOf(register, 'breakwater_circuit_state');
  return Object.fromEntries(
    CIRCUIT_STATES.map((s) => [s, sampleValue(samples, { breaker: name, state: s })]),
  );
}

const RANK: Record<HealthStatus, number> = { healthy: 0, warning: 1, degraded: 2, critical: 3 };

describe('collectBreakerMetrics', () => {
  it('exports each state, 1 for the current one, with forced_open and disabled told apart', async () => {
    const { clock, registry, register } = setup();
    collectBreakerMetrics(registry, { register });
    const [closed, open, half, forced, disabled] = ['a', 'b', 'c', 'd', 'e'].map((n) =>
      registry.get(n),
    ) as CircuitBreaker<unknown>[];
    await fail(half as CircuitBreaker<unknown>);
    clock.advance(1_000);
    await fail(open as CircuitBreaker<unknown>);
    forced?.forceOpen();
    disabled?.disable();
    expect([closed, open, half, forced, disabled].map((b) => b?.state().name)).toEqual([
      'closed',
      'open',
      'half_open',
      'open',
      'disabled',
    ]);
    const zero = { closed: 0, open: 0, half_open: 0, forced_open: 0, disabled: 0 };
    expect(await stateOf(register, 'a')).toEqual({ ...zero, closed: 1 });
    expect(await stateOf(register, 'b')).toEqual({ ...zero, open: 1 });
    expect(await stateOf(register, 'c')).toEqual({ ...zero, half_open: 1 });
    expect(await stateOf(register, 'd')).toEqual({ ...zero, forced_open: 1 });
    expect(await stateOf(register, 'e')).toEqual({ ...zero, disabled: 1 });
    // The open period runs out between scrapes: the next scrape reads it half-open.
    clock.advance(1_000);
    expect(await stateOf(register, 'b')).toEqual({ ...zero, half_open: 1 });
  });

  it('counts calls by outcome as the breaker does, a timeout in failure too', async () => {
    const { clock, registry, register } = setup();
    collectBreakerMetrics(registry, { register });
    const api = breaker<string>(clock, {
      name: 'api',
      failureThreshold: 3,
      timeout: 100,
      fallback: FallbackBehavior.fallback(() => 'stale'),
    });
    registry.register('api', api);
    for (let i = 0; i < 3; i++) await succeed(api);
    await failIgnored(api);
    const hung = api.execute(
      (signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    clock.advance(100);
    await hung.catch(noop);
    await fail(api);
    await fail(api);
    expect(api.state().name).toBe('open');
    expect(await api.execute(async () => 'fresh')).toBe('stale');
    expect(await api.execute(async () => 'fresh')).toBe('stale');

    const samples = await samplesOf(register, 'breakwater_calls_total');
    const count = (outcome: string) => sampleValue(samples, { breaker: 'api', outcome });
    expect(['success', 'failure', 'ignored', 'rejected', 'timeout', 'fallback'].map(count)).toEqual(
      [3, 3, 1, 2, 1, 2],
    );
    const m = api.metrics();
    expect([m.successfulRequests, m.failedRequests, m.ignoredErrors, m.rejectedRequests]).toEqual([
      3, 3, 1, 2,
    ]);
    expect([m.timeouts, m.fallbacks]).toEqual([1, 2]);
  });

  it('counts every transition, so an opening shorter than the scrape interval is seen', async () => {
    const { clock, registry, register } = setup();
    collectBreakerMetrics(registry, { register });
    const transitionsOf = async (breaker: string) =>
      (await samplesOf(register, 'breakwater_state_transitions_total')).filter(
        (s) => s.labels.breaker === breaker,
      );
    // _other's pairs are there from the first scrape, before any breaker fell past maxBreakers.
    expect(await samplesOf(register, 'breakwater_state_transitions_total')).toEqual([
      { labels: { breaker: '_other', from: 'closed', to: 'open' }, value: 0 },
      { labels: { breaker: '_other', from: 'open', to: 'half_open' }, value: 0 },
      { labels: { breaker: '_other', from: 'half_open', to: 'closed' }, value: 0 },
      { labels: { breaker: '_other', from: 'half_open', to: 'open' }, value: 0 },
    ]);
    const flap = registry.get('flap');
    // The pairs a breaker goes through by itself are there at 0 before they happen, so that
    // increase() sees the first opening: a series that appears at 1 is no increase.
    expect(await transitionsOf('flap')).toEqual([
      { labels: { breaker: 'flap', from: 'closed', to: 'open' }, value: 0 },
      { labels: { breaker: 'flap', from: 'open', to: 'half_open' }, value: 0 },
      { labels: { breaker: 'flap', from: 'half_open', to: 'closed' }, value: 0 },
      { labels: { breaker: 'flap', from: 'half_open', to: 'open' }, value: 0 },
    ]);
    await fail(flap);
    clock.advance(1_000);
    await succeed(flap);
    const samples = await transitionsOf('flap');
    expect(await stateOf(register, 'flap')).toMatchObject({ closed: 1, open: 0 });
    // The four automatic pairs, and no other: an operator's pairs appear once they happen.
    expect(samples).toHaveLength(4);
    expect(sampleValue(samples, { breaker: 'flap', from: 'closed', to: 'open' })).toBe(1);
    expect(sampleValue(samples, { breaker: 'flap', from: 'open', to: 'half_open' })).toBe(1);
    expect(sampleValue(samples, { breaker: 'flap', from: 'half_open', to: 'closed' })).toBe(1);
    expect(sampleValue(samples, { breaker: 'flap', from: 'half_open', to: 'open' })).toBe(0);
    expect(flap.transitionCount('half_open', 'closed')).toBe(1);

    // Forcing a timed open open is an opening of its own: open -> open.
    await fail(flap);
    flap.forceOpen();
    const after = await samplesOf(register, 'breakwater_state_transitions_total');
    expect(sampleValue(after, { breaker: 'flap', from: 'closed', to: 'open' })).toBe(2);
    expect(sampleValue(after, { breaker: 'flap', from: 'open', to: 'open' })).toBe(1);
  });

  it('exports the window rates only once the window holds minimumCalls', async () => {
    const { clock, registry, register } = setup({
      defaults: {
        failureThreshold: 100,
        window: {
          type: 'count',
          size: 10,
          minimumCalls: 5,
          failureRateThreshold: 0.9,
          slowCallDuration: 1_000,
          slowCallRateThreshold: 0.9,
        },
      },
    });
    collectBreakerMetrics(registry, { register });
    const b = registry.get('windowed');
    registry.get('windowless', { window: undefined });
    for (let i = 0; i < 3; i++) await succeed(b);
    await fail(b);
    expect(b.metrics().failureRate).toBe(-1);
    expect(await samplesOf(register, 'breakwater_failure_rate')).toEqual([]);
    expect(await samplesOf(register, 'breakwater_slow_call_rate')).toEqual([]);

    await takes(clock, b, 1_500);
    await fail(b);
    const failure = await samplesOf(register, 'breakwater_failure_rate');
    const slow = await samplesOf(register, 'breakwater_slow_call_rate');
    expect(failure).toEqual([{ labels: { breaker: 'windowed' }, value: 2 / 6 }]);
    expect(slow).toEqual([{ labels: { breaker: 'windowed' }, value: 1 / 6 }]);
    expect(b.metrics().failureRate).toBe(2 / 6);
    expect(b.metrics().slowCallRate).toBe(1 / 6);
  });

  it('rolls health up as 0 healthy, 1 warning, 2 degraded, 3 critical, as registry.health() does', async () => {
    const { clock, registry, register } = setup();
    collectBreakerMetrics(registry, { register });
    const cache = breaker(clock, { name: 'cache' });
    const permissions = breaker(clock, { name: 'permissions' });
    const database = breaker(clock, { name: 'database' });
    registry.register('cache', cache, { criticality: 'warning' });
    registry.register('permissions', permissions, { criticality: 'degraded' });
    registry.register('database', database, { criticality: 'critical' });
    const health = async () => {
      const [sample, ...rest] = await samplesOf(register, 'breakwater_health_status');
      expect(rest).toEqual([]);
      expect(sample?.value).toBe(RANK[registry.health().status]);
      return sample?.value;
    };
    expect(await health()).toBe(0);
    cache.forceOpen();
    expect(await health()).toBe(1);
    await fail(permissions);
    expect(await health()).toBe(2);
    database.forceOpen();
    expect(await health()).toBe(3);
    database.forceClose();
    cache.forceClose();
    clock.advance(1_000);
    expect(permissions.state().name).toBe('half_open');
    expect(await health()).toBe(1);
    permissions.disable();
    expect(await health()).toBe(1);
    permissions.reset();
    expect(await health()).toBe(0);
  });

  it('sums the breakers past maxBreakers under _other, and warns once', async () => {
    const { registry, register } = setup({
      defaults: { window: { type: 'count', size: 10, minimumCalls: 1, failureRateThreshold: 1 } },
    });
    const { logger, warnings } = capturingLogger();
    collectBreakerMetrics(registry, { register, maxBreakers: 2, logger });
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) =>
      registry.get(n),
    ) as CircuitBreaker<unknown>[];
    await succeed(a as CircuitBreaker<unknown>);
    await fail(b as CircuitBreaker<unknown>);
    await fail(c as CircuitBreaker<unknown>);
    await c?.execute(async () => 1).catch(noop);
    d?.forceOpen();
    e?.disable();
    await succeed(f as CircuitBreaker<unknown>);
    await succeed(f as CircuitBreaker<unknown>);

    const state = await samplesOf(register, 'breakwater_circuit_state');
    expect(new Set(state.map((s) => s.labels.breaker))).toEqual(new Set(['a', 'b', '_other']));
    expect(state).toHaveLength(3 * 5);
    expect(await stateOf(register, '_other')).toEqual({
      closed: 1,
      open: 1,
      half_open: 0,
      forced_open: 1,
      disabled: 1,
    });
    const calls = await samplesOf(register, 'breakwater_calls_total');
    const other = (outcome: string) => sampleValue(calls, { breaker: '_other', outcome });
    expect(['success', 'failure', 'rejected', 'ignored'].map(other)).toEqual([2, 1, 1, 0]);
    expect(sampleValue(calls, { breaker: 'b', outcome: 'failure' })).toBe(1);
    const transitions = await samplesOf(register, 'breakwater_state_transitions_total');
    expect(transitions.filter((s) => s.labels.breaker === '_other')).toEqual([
      { labels: { breaker: '_other', from: 'closed', to: 'open' }, value: 2 },
      { labels: { breaker: '_other', from: 'closed', to: 'disabled' }, value: 1 },
      { labels: { breaker: '_other', from: 'open', to: 'half_open' }, value: 0 },
      { labels: { breaker: '_other', from: 'half_open', to: 'closed' }, value: 0 },
      { labels: { breaker: '_other', from: 'half_open', to: 'open' }, value: 0 },
    ]);
    // Rates are per breaker: a sum of shares means nothing. (b is open: its window starts afresh.)
    const rates = await samplesOf(register, 'breakwater_failure_rate');
    expect(rates.map((s) => s.labels.breaker)).toEqual(['a']);
    expect(f?.metrics().failureRate).toBe(0);

    await register.metrics();
    expect(warnings).toEqual([
      {
        fields: { breakers: 6, maxBreakers: 2, overflow: 4 },
        message: expect.stringMatching(
          /4 of the registry's 6 breakers are summed under breaker="_other": only maxBreakers \(2\)/,
        ),
      },
    ]);
  });

  it('without a logger, emits the overflow warning as a process warning, once', async () => {
    const { registry, register } = setup();
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(noop);
    try {
      collectBreakerMetrics(registry, { register, maxBreakers: 1 });
      registry.get('a');
      await register.metrics();
      expect(emitted).not.toHaveBeenCalled();
      registry.get('b');
      await register.metrics();
      await register.metrics();
      expect(emitted).toHaveBeenCalledTimes(1);
      expect(emitted).toHaveBeenCalledWith(
        expect.stringMatching(/only maxBreakers \(1\) get series/),
        {
          code: OVERFLOW_WARNING,
        },
      );
    } finally {
      emitted.mockRestore();
    }
  });

  it('keeps a scrape of 100,000 breakers to maxBreakers series', async () => {
    const { registry, register } = setup();
    const { logger, warnings } = capturingLogger();
    collectBreakerMetrics(registry, { register, logger });
    for (let i = 0; i < 100_000; i++) registry.get(`tenant-${i}`);
    await fail(registry.get('tenant-5'));
    await fail(registry.get('tenant-50000'));
    registry.get('tenant-99999').forceOpen();
    const state = await samplesOf(register, 'breakwater_circuit_state');
    expect(state).toHaveLength(1_001 * 5);
    expect(await stateOf(register, '_other')).toEqual({
      closed: 98_998,
      open: 1,
      half_open: 0,
      forced_open: 1,
      disabled: 0,
    });
    expect(await stateOf(register, 'tenant-5')).toMatchObject({ open: 1 });
    expect(await samplesOf(register, 'breakwater_calls_total')).toHaveLength(1_001 * 6);
    expect(warnings).toHaveLength(1);
    registry.dispose();
  }, 60_000);

  it('shows breakers added after it started', async () => {
    const { registry, register } = setup();
    collectBreakerMetrics(registry, { register, durations: true });
    const before = await samplesOf(register, 'breakwater_circuit_state');
    expect(new Set(before.map((s) => s.labels.breaker))).toEqual(new Set(['_other']));
    expect(before.map((s) => s.value)).toEqual([0, 0, 0, 0, 0]);
    await succeed(registry.get('late'));
    expect(await stateOf(register, 'late')).toMatchObject({ closed: 1 });
    const calls = await samplesOf(register, 'breakwater_calls_total');
    expect(sampleValue(calls, { breaker: 'late', outcome: 'success' })).toBe(1);
    const durations = await samplesOf(register, 'breakwater_call_duration_seconds');
    expect(
      sampleValue(
        durations,
        { breaker: 'late', outcome: 'success' },
        'breakwater_call_duration_seconds_count',
      ),
    ).toBe(1);
  });

  it('times calls only with durations: true; by default breakers stay on their fast path', async () => {
    const { clock, registry, register } = setup({ defaults: { failureThreshold: 10 } });
    const b = registry.get('api');
    collectBreakerMetrics(registry, { register });
    expect(register.getSingleMetric('breakwater_call_duration_seconds')).toBeUndefined();
    expect(await callsAreTimed(b)).toBe(false);

    const timed = new Registry();
    collectBreakerMetrics(registry, {
      register: timed,
      durations: true,
      buckets: [0.025, 0.05, 0.5],
    });
    expect(await callsAreTimed(b)).toBe(true);
    await takes(clock, b, 30);
    await takes(clock, b, 40);
    await takes(clock, b, 200, 'failure');
    await takes(clock, b, 1_000, 'ignored');
    const samples = await samplesOf(timed, 'breakwater_call_duration_seconds');
    const bucket = (outcome: string, le: number | string) =>
      sampleValue(
        samples,
        { breaker: 'api', outcome, le },
        'breakwater_call_duration_seconds_bucket',
      );
    const total = (outcome: string, what: 'sum' | 'count') =>
      sampleValue(samples, { breaker: 'api', outcome }, `breakwater_call_duration_seconds_${what}`);
    // callsAreTimed's own call took no time: 0 s, in the first bucket.
    expect([0.025, 0.05, 0.5, '+Inf'].map((le) => bucket('success', le))).toEqual([1, 3, 3, 3]);
    expect(total('success', 'count')).toBe(3);
    expect(total('success', 'sum')).toBeCloseTo(0.07);
    expect([0.025, 0.05, 0.5, '+Inf'].map((le) => bucket('failure', le))).toEqual([0, 0, 1, 1]);
    expect([0.025, 0.05, 0.5, '+Inf'].map((le) => bucket('ignored', le))).toEqual([0, 0, 0, 1]);
    expect(total('ignored', 'sum')).toBe(1);
  });

  it('skips a call that began before it subscribed: there is no start time to time it by', async () => {
    const { registry, register } = setup();
    const b = registry.get('api');
    let settle!: () => void;
    const call = b.execute(() => new Promise((resolve) => (settle = () => resolve('ok'))));
    collectBreakerMetrics(registry, { register, durations: true });
    settle();
    await call;
    expect(
      sampleValue(await samplesOf(register, 'breakwater_calls_total'), {
        breaker: 'api',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(await samplesOf(register, 'breakwater_call_duration_seconds')).toEqual([]);
  });

  it('times the breakers past maxBreakers under _other, and drops the series of a deleted breaker', async () => {
    const { clock, registry, register } = setup({ defaults: { failureThreshold: 10 } });
    const { logger } = capturingLogger();
    collectBreakerMetrics(registry, { register, durations: true, maxBreakers: 1, logger });
    const first = registry.get('first');
    await takes(clock, first, 10);
    const second = registry.get('second');
    const third = registry.get('third');
    await takes(clock, second, 10);
    await takes(clock, third, 10);
    let samples = await samplesOf(register, 'breakwater_call_duration_seconds');
    const count = (breaker: string) =>
      sampleValue(
        samples,
        { breaker, outcome: 'success' },
        'breakwater_call_duration_seconds_count',
      );
    expect([count('first'), count('_other')]).toEqual([1, 2]);
    expect(new Set(samples.map((s) => s.labels.breaker))).toEqual(new Set(['first', '_other']));

    registry.delete('first');
    samples = await samplesOf(register, 'breakwater_call_duration_seconds');
    expect(new Set(samples.map((s) => s.labels.breaker))).toEqual(new Set(['_other']));
    // "second" stays in _other for life, as its calls counter does; the freed place goes to the
    // next breaker made.
    await takes(clock, second, 10);
    await takes(clock, registry.get('fourth'), 10);
    samples = await samplesOf(register, 'breakwater_call_duration_seconds');
    expect([count('second'), count('fourth'), count('_other')]).toEqual([undefined, 1, 3]);
    const calls = await samplesOf(register, 'breakwater_calls_total');
    expect(new Set(calls.map((s) => s.labels.breaker))).toEqual(new Set(['fourth', '_other']));
  });

  it('with durations, an LRU registry within maxBreakers keeps every breaker on its own series, however many hot ones came first', async () => {
    // 20 hot breakers made first hold the oldest places; cold keys churn through the rest.
    const { registry, register } = setup({ maxBreakers: 40 });
    const { logger, warnings } = capturingLogger();
    collectBreakerMetrics(registry, { register, durations: true, maxBreakers: 40, logger });
    const ok = async () => 'ok';
    for (let i = 0; i < 20; i++) await registry.get(`hot-${i}`).execute(ok);
    for (let scrape = 0; scrape < 3; scrape++) {
      for (let k = 0; k < 100; k++) {
        for (let i = 0; i < 20; i++) await registry.get(`hot-${i}`).execute(ok);
        await registry.get(`key-${scrape}-${k}`).execute(ok);
      }
      expect(registry.size).toBe(40);
      expect(await stateOf(register, '_other')).toMatchObject({ closed: 0 });
      const calls = await samplesOf(register, 'breakwater_calls_total');
      const own = new Set(calls.map((s) => s.labels.breaker));
      own.delete('_other');
      expect(own.size).toBe(40);
    }
    expect(warnings).toEqual([]);
  });

  it('keeps no more than maxBreakers breakers timed under their own name, with no scrape at all', async () => {
    // Per-key breakers churn through an LRU registry no bigger than maxBreakers.
    const { clock, registry, register } = setup({ maxBreakers: 3 });
    collectBreakerMetrics(registry, { register, durations: true, maxBreakers: 5 });
    for (let i = 0; i < 500; i++) await takes(clock, registry.get(`key-${i}`), 1);
    const family = register.getSingleMetric('breakwater_call_duration_seconds') as unknown as {
      keys(): IterableIterator<string>;
    };
    expect([...family.keys()].length).toBeLessThanOrEqual(5);
    const durations = await samplesOf(register, 'breakwater_call_duration_seconds');
    const timed = new Set(durations.map((s) => s.labels.breaker));
    expect(timed).toEqual(new Set(['key-497', 'key-498', 'key-499']));
    const state = await samplesOf(register, 'breakwater_circuit_state');
    expect(new Set(state.map((s) => s.labels.breaker))).toEqual(new Set([...timed, '_other']));
    expect(await stateOf(register, '_other')).toMatchObject({ closed: 0 });
  });

  it('times a breaker deleted and made again between scrapes under the same series as its calls', async () => {
    const { clock, registry, register } = setup({ defaults: { failureThreshold: 10 } });
    const { logger } = capturingLogger();
    collectBreakerMetrics(registry, { register, durations: true, maxBreakers: 2, logger });
    for (const name of ['a', 'b', 'c']) registry.get(name);
    for (let round = 0; round < 4; round++) {
      for (const name of ['a', 'b']) registry.delete(name);
      for (const name of ['a', 'b', 'c', `new-${round}`]) await takes(clock, registry.get(name), 1);
      const durations = await samplesOf(register, 'breakwater_call_duration_seconds');
      const calls = await samplesOf(register, 'breakwater_calls_total');
      const timed = new Set(durations.map((s) => s.labels.breaker));
      expect(timed).toEqual(new Set(calls.map((s) => s.labels.breaker)));
      expect(timed.size).toBeLessThanOrEqual(3);
    }
  });

  it("never lowers _other's counters when its breakers leave the registry", async () => {
    const { registry, register } = setup();
    const { logger } = capturingLogger();
    collectBreakerMetrics(registry, { register, maxBreakers: 1, logger });
    registry.get('own');
    for (const name of ['x', 'y', 'z']) {
      await succeed(registry.get(name));
      await succeed(registry.get(name));
    }
    await fail(registry.get('x'));
    const other = async (outcome: string) =>
      sampleValue(await samplesOf(register, 'breakwater_calls_total'), {
        breaker: '_other',
        outcome,
      });
    expect(await other('success')).toBe(6);
    registry.delete('x');
    registry.delete('y');
    expect(await other('success')).toBe(6);
    expect(await other('failure')).toBe(1);
    const transitions = await samplesOf(register, 'breakwater_state_transitions_total');
    expect(sampleValue(transitions, { breaker: '_other', from: 'closed', to: 'open' })).toBe(1);
    await succeed(registry.get('z'));
    // "own" keeps its series: a departure in _other moves nobody.
    await succeed(registry.get('y'));
    expect(await other('success')).toBe(8);
    expect(await stateOf(register, '_other')).toMatchObject({ closed: 2 });
  });

  it('walks the registry once per scrape, for every family', async () => {
    /** A real registry that counts its walks. */
    class CountingRegistry extends BreakerRegistry {
      walks = 0;
      override forEach(visit: Parameters<BreakerRegistry['forEach']>[0]): void {
        this.walks++;
        super.forEach(visit);
      }
    }
    const registry = new CountingRegistry({ clock: new ManualClock(0) });
    const register = new Registry();
    collectBreakerMetrics(registry, { register, durations: true });
    // With durations, one walk at the start gives the breakers held then their series in
    // registry order (it reads nothing).
    expect(registry.walks).toBe(1);
    await succeed(registry.get('api'));
    expect(register.getMetricsAsArray()).toHaveLength(7);
    await register.metrics();
    expect(registry.walks).toBe(2);
    await register.getMetricsAsJSON();
    await register.metrics();
    expect(registry.walks).toBe(4);
  });

  it("survives prom-client's resetMetrics(): the histogram starts again from 0 and keeps counting", async () => {
    const { registry, register } = setup({ defaults: { failureThreshold: 10 } });
    collectBreakerMetrics(registry, { register, durations: true });
    const b = registry.get('api');
    await succeed(b);
    register.resetMetrics();
    await succeed(b);
    await succeed(b);
    const samples = await samplesOf(register, 'breakwater_call_duration_seconds');
    expect(
      sampleValue(
        samples,
        { breaker: 'api', outcome: 'success' },
        'breakwater_call_duration_seconds_count',
      ),
    ).toBe(2);
    // The calls counter is the breaker's own count: a reset of the register does not touch it.
    const calls = await samplesOf(register, 'breakwater_calls_total');
    expect(sampleValue(calls, { breaker: 'api', outcome: 'success' })).toBe(3);
  });

  it('close() removes its metrics and unsubscribes: the breakers go back to their fast path', async () => {
    const { clock, registry, register } = setup({ defaults: { failureThreshold: 10 } });
    const b = registry.get('api');
    const own = new Gauge({ name: 'app_up', help: 'the application', registers: [register] });
    const collector = collectBreakerMetrics(registry, { register, durations: true });
    const histogram = register.getSingleMetric('breakwater_call_duration_seconds');
    expect(await callsAreTimed(b)).toBe(true);
    await takes(clock, b, 10);
    collector.close();
    collector.close();
    expect((await register.getMetricsAsJSON()).map((m) => m.name)).toEqual(['app_up']);
    expect(register.getSingleMetric('app_up')).toBe(own);
    expect(await callsAreTimed(b)).toBe(false);
    await takes(clock, b, 10);
    // The histogram it made saw no call after close().
    const values = (await histogram?.get())?.values ?? [];
    expect(
      sampleValue(
        values,
        { breaker: 'api', outcome: 'success' },
        'breakwater_call_duration_seconds_count',
      ),
    ).toBe(2);
    // Its names are free again.
    collectBreakerMetrics(registry, { register }).close();
  });

  it('refuses a name the register holds, registering nothing', () => {
    const { registry, register } = setup();
    new Gauge({ name: 'breakwater_health_status', help: 'taken', registers: [register] });
    const attempt = () => collectBreakerMetrics(registry, { register, durations: true });
    expect(attempt).toThrow(MetricNameTakenError);
    expect(attempt).toThrow(/already has a metric called "breakwater_health_status"; close\(\)/);
    expect(register.getMetricsAsArray()).toHaveLength(1);
    // It subscribed to nothing either: the breaker is still on its fast path.
    return expect(callsAreTimed(registry.get('api'))).resolves.toBe(false);
  });

  it('names its metrics with the prefix, and registers on the global register by default', async () => {
    const { registry, register } = setup();
    const collector = collectBreakerMetrics(registry, { register, prefix: 'edge_' });
    registry.get('api');
    expect((await register.getMetricsAsJSON()).map((m) => m.name)).toEqual([
      'edge_circuit_state',
      'edge_calls_total',
      'edge_state_transitions_total',
      'edge_failure_rate',
      'edge_slow_call_rate',
      'edge_health_status',
    ]);
    collector.close();
    const { register: global } = await import('prom-client');
    const onGlobal = collectBreakerMetrics(registry);
    expect(global.getSingleMetric('breakwater_circuit_state')).toBeDefined();
    onGlobal.close();
    expect(global.getSingleMetric('breakwater_circuit_state')).toBeUndefined();
  });

  it('works on an OpenMetrics register, and close() still removes its counters', async () => {
    const { registry } = setup();
    const register = new Registry<OpenMetricsContentType>();
    register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const collector = collectBreakerMetrics(registry, { register });
    await succeed(registry.get('api'));
    const text = await register.metrics();
    expect(text).toContain('breakwater_calls_total{breaker="api",outcome="success"} 1');
    expect(text).toContain('# TYPE breakwater_calls counter');
    collector.close();
    expect(register.getMetricsAsArray()).toEqual([]);
  });

  it('checks its options once, naming the option and the value', () => {
    const { registry } = setup();
    const register = new Registry();
    const bad = (options: object) => () =>
      collectBreakerMetrics(registry, { register, ...options });
    expect(bad({ maxBreaker: 5 })).toThrow(/collectBreakerMetrics: unknown option "maxBreaker"/);
    expect(bad({ prefix: '9lives_' })).toThrow(
      /option "prefix" must be the start of a metric name.*"9lives_"/,
    );
    expect(bad({ prefix: 'a-b' })).toThrow(TypeError);
    expect(bad({ maxBreakers: -1 })).toThrow(/"maxBreakers" must be an integer >= 0, got -1/);
    expect(bad({ maxBreakers: 1.5 })).toThrow(RangeError);
    expect(bad({ durations: 'yes' })).toThrow(/"durations" must be true or false, got "yes"/);
    expect(bad({ buckets: [] })).toThrow(/"buckets" must be a non-empty array/);
    expect(bad({ buckets: [0.1, 0.1] })).toThrow(/"buckets" must increase, got 0.1 after 0.1/);
    expect(bad({ buckets: [0.1, Number.NaN] })).toThrow(/finite numbers.*NaN at 1/);
    expect(bad({ logger: {} })).toThrow(/"logger" must have a warn\(fields, message\) method/);
    expect(bad({ register: {} })).toThrow(
      /"register" must be a prom-client Registry, got an object/,
    );
    expect(() => collectBreakerMetrics({} as BreakerRegistry, { register })).toThrow(
      /collectBreakerMetrics: the registry must have a forEach\(\) method/,
    );
    expect(() => collectBreakerMetrics(registry, null as never)).toThrow(
      /options must be an object, got null/,
    );
    expect(register.getMetricsAsArray()).toEqual([]);
  });
});
