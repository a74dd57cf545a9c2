import {
  AuthorizationService,
  type AuthorizationServiceOptions,
  FallbackStrategy,
} from '@breakwater/authz';
import { ManualClock } from '@breakwater/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { samplesOf, sampleValue } from '../test/samples.js';
import { TupleChecker } from '../test/tuple-checker.js';
import { collectAuthorizationMetrics } from './authorization-metrics.js';

function setup(options: Partial<AuthorizationServiceOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const checker = new TupleChecker(clock, new Set(['user:alice|document:plan|read']));
  const service = new AuthorizationService({
    checker,
    clock,
    breaker: { failureThreshold: 2, jitter: 0 },
    fallback: FallbackStrategy.denyAll(),
    ...options,
  });
  return { clock, checker, service, register: new Registry() };
}

const alice = { subject: 'user:alice', resource: 'document:plan', permission: 'read' };
const bob = { subject: 'user:bob', resource: 'document:plan', permission: 'read' };

describe('collectAuthorizationMetrics', () => {
  it("exports the service's checks, cache, fallbacks and check durations", async () => {
    const { checker, service, register } = setup();
    collectAuthorizationMetrics(service, { register, buckets: [0.01, 0.025, 0.05] });
    checker.latencyMs = 20;
    expect(await service.check(alice)).toMatchObject({ allowed: true, source: 'spicedb' });
    expect(await service.check(alice)).toMatchObject({ allowed: true, source: 'cache' });
    checker.latencyMs = 30;
    expect(await service.check(bob)).toMatchObject({ allowed: false, source: 'spicedb' });
    checker.down = true;
    checker.latencyMs = 5;
    for (const who of ['user:carol', 'user:dave'])
      expect(await service.check({ ...alice, subject: who })).toMatchObject({
        source: 'fallback',
        reason: 'backend_error',
      });
    expect(service.breaker.state().name).toBe('open');
    expect(await service.check({ ...alice, subject: 'user:erin' })).toMatchObject({
      allowed: false,
      reason: 'circuit_open',
    });

    const checks = await samplesOf(register, 'authorization_check_total');
    const checked = (result: string, source: string) => sampleValue(checks, { result, source });
    expect(checks).toHaveLength(6);
    expect([checked('allowed', 'spicedb'), checked('denied', 'spicedb')]).toEqual([1, 1]);
    expect([checked('allowed', 'cache'), checked('denied', 'cache')]).toEqual([1, 0]);
    expect([checked('allowed', 'fallback'), checked('denied', 'fallback')]).toEqual([0, 3]);
    const stats = service.stats();
    expect(stats.checks.fallback.denied).toBe(3);

    const fallbacks = await samplesOf(register, 'authorization_fallback_total');
    const fellBack = (reason: string) => sampleValue(fallbacks, { strategy: 'deny_all', reason });
    expect(['circuit_open', 'backend_error', 'timeout'].map(fellBack)).toEqual([1, 2, 0]);
    expect(stats.fallbacks.deny_all).toEqual({ circuit_open: 1, backend_error: 2, timeout: 0 });

    expect(await samplesOf(register, 'authorization_cache_entries')).toEqual([
      { labels: {}, value: 1 },
    ]);
    expect(stats.cache?.entries).toBe(1);

    const durations = await samplesOf(register, 'authorization_check_duration_seconds');
    const bucket = (le: number | string) =>
      sampleValue(durations, { le }, 'authorization_check_duration_seconds_bucket');
    // 0 s (the cache), 5 ms twice, 0 s (open), 20 ms, 30 ms.
    expect([0.01, 0.025, 0.05, '+Inf'].map(bucket)).toEqual([4, 5, 6, 6]);
    expect(sampleValue(durations, {}, 'authorization_check_duration_seconds_count')).toBe(6);
    expect(sampleValue(durations, {}, 'authorization_check_duration_seconds_sum')).toBeCloseTo(
      0.06,
    );
  });

  it('exports no cache gauge sample for a service without a cache', async () => {
    const { service, register } = setup({ cache: false });
    collectAuthorizationMetrics(service, { register });
    await service.check(alice);
    expect(register.getSingleMetric('authorization_cache_entries')).toBeDefined();
    expect(await samplesOf(register, 'authorization_cache_entries')).toEqual([]);
    expect(
      sampleValue(await samplesOf(register, 'authorization_check_total'), {
        result: 'allowed',
        source: 'spicedb',
      }),
    ).toBe(1);
  });

  it('close() removes its metrics and stops listening to decisions', async () => {
    const { service, register } = setup();
    const collector = collectAuthorizationMetrics(service, { register, prefix: 'edge_' });
    expect(register.getMetricsAsArray().map((m) => m.name)).toEqual([
      'edge_authorization_check_total',
      'edge_authorization_check_duration_seconds',
      'edge_authorization_cache_entries',
      'edge_authorization_fallback_total',
    ]);
    const histogram = register.getSingleMetric('edge_authorization_check_duration_seconds');
    await service.check(alice);
    collector.close();
    expect(register.getMetricsAsArray()).toEqual([]);
    await service.check(bob);
    const values = (await histogram?.get())?.values ?? [];
    expect(sampleValue(values, {}, 'edge_authorization_check_duration_seconds_count')).toBe(1);
  });

  it('checks its options and the service', () => {
    const { service, register } = setup();
    expect(() =>
      collectAuthorizationMetrics(service, { register, maxBreakers: 5 } as never),
    ).toThrow(
      /collectAuthorizationMetrics: unknown option "maxBreakers"; known options are register, prefix, buckets/,
    );
    expect(() => collectAuthorizationMetrics({ stats: () => ({}) } as never, { register })).toThrow(
      /collectAuthorizationMetrics: the service must have a on\(\) method/,
    );
    expect(() => collectAuthorizationMetrics(service, { register, buckets: [1, 0.5] })).toThrow(
      RangeError,
    );
    expect(register.getMetricsAsArray()).toEqual([]);
  });
});
