import { readFileSync } from 'node:fs';
import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBreakerMetrics } from '../src/breaker-metrics.js';
import { drivenStack } from './driven-stack.js';
import {
  type PrometheusServer,
  type StoredSeries,
  serveMetrics,
  startPrometheus,
} from './prometheus-server.js';
import { capturingLogger } from './samples.js';

type Labels = Readonly<Record<string, string | number>>;

/** The opening alert as the README gives it (its one promql block). */
function readmeAlert(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```promql\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('packages/prometheus/README.md has no promql block');
  return block;
}

/** The time of the first sample in `series` at `value` or more. */
function firstAt(series: StoredSeries | undefined, value: number): number {
  const sample = series?.samples.find(([, v]) => v >= value);
  if (sample === undefined) throw new Error(`no sample at ${value}: ${JSON.stringify(series)}`);
  return sample[0];
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

/** A series as text: its labels sorted, Prometheus's own target labels left out. */
function seriesKey(labels: Labels): string {
  return Object.entries(labels)
    .filter(([name]) => !['__name__', 'job', 'instance'].includes(name))
    .map(([name, value]) => `${name}=${String(value)}`)
    .sort()
    .join(',');
}

describe('a real Prometheus server scraping the collectors', () => {
  const register = new Registry();
  let endpoint: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let prometheus: PrometheusServer | undefined;
  let stack: Awaited<ReturnType<typeof drivenStack>> | undefined;

  beforeAll(async () => {
    endpoint = await serveMetrics(register);
    // Started first: its first scrape comes about 5 s after start, while the stack is driven.
    prometheus = await startPrometheus([endpoint.target]);
    stack = await drivenStack(register);
  }, 30_000);

  afterAll(async () => {
    await prometheus?.stop();
    await endpoint?.close();
    stack?.close();
  }, 15_000);

  it('stores every series the collectors export, with the values the breakers report', async () => {
    const server = prometheus as PrometheusServer;
    await server.waitFor('up{job="breakwater"}', (up) => up[0]?.value === 1, 20_000);

    // Everything the register exports, by the metric name Prometheus stores it under.
    const expected = new Map<string, Map<string, number>>();
    for (const family of await register.getMetricsAsJSON()) {
      for (const sample of family.values as {
        metricName?: string;
        labels: Labels;
        value: number;
      }[]) {
        const name = sample.metricName ?? family.name;
        const series = expected.get(name) ?? new Map<string, number>();
        series.set(seriesKey(sample.labels), sample.value);
        expected.set(name, series);
      }
    }
    expect(expected.size).toBeGreaterThanOrEqual(20);
    for (const [name, series] of expected) {
      const stored = await server.query(name);
      expect({ name, series: new Map(stored.map((s) => [seriesKey(s.metric), s.value])) }).toEqual({
        name,
        series,
      });
    }

    // And the figures the stack was driven to, as a user would query them.
    const value = async (promql: string) => {
      const answer = await server.query(promql);
      expect(answer, promql).toHaveLength(1);
      return answer[0]?.value;
    };
    const calls = (outcome: string) =>
      value(`breakwater_calls_total{breaker="clamav",outcome="${outcome}"}`);
    expect([await calls('success'), await calls('failure'), await calls('rejected')]).toEqual([
      3, 2, 1,
    ]);
    expect(await value('breakwater_circuit_state{breaker="clamav",state="open"}')).toBe(1);
    expect(await value('breakwater_circuit_state{breaker="virustotal",state="forced_open"}')).toBe(
      1,
    );
    expect(await value('breakwater_circuit_state{breaker="virustotal",state="open"}')).toBe(0);
    expect(await value('breakwater_circuit_state{breaker="spicedb",state="open"}')).toBe(1);
    expect(
      await value('breakwater_state_transitions_total{breaker="clamav",from="closed",to="open"}'),
    ).toBe(1);
    expect(await value('breakwater_failure_rate{breaker="cache"}')).toBe(0.25);
    expect(await server.query('breakwater_failure_rate{breaker="clamav"}')).toEqual([]);
    expect(await value('breakwater_health_status')).toBe(3);
    expect(
      await value('breakwater_call_duration_seconds_count{breaker="clamav",outcome="success"}'),
    ).toBe(3);
    expect(await value('authorization_check_total{result="allowed",source="spicedb"}')).toBe(1);
    expect(await value('authorization_check_total{result="allowed",source="cache"}')).toBe(1);
    expect(await value('authorization_check_total{result="denied",source="fallback"}')).toBe(2);
    expect(
      await value('authorization_fallback_total{strategy="deny_all",reason="backend_error"}'),
    ).toBe(2);
    expect(await value('authorization_cache_entries')).toBe(1);
    expect(await value('authorization_check_duration_seconds_count')).toBe(4);
    expect(await value('scanbridge_scans_total{engine="mock",outcome="clean"}')).toBe(1);
    expect(await value('scanbridge_decisions_total{action="allow"}')).toBe(1);
    expect(await value('scanbridge_bytes_scanned_total')).toBe(5);
    expect(await value('scanbridge_scan_duration_seconds_count{engine="mock"}')).toBe(1);
  }, 60_000);

  it("sees a breaker's first opening with increase(), though it opened and closed between two scrapes", async () => {
    const server = prometheus as PrometheusServer;
    const clock = new ManualClock(1_700_000_000_000);
    const flap = new CircuitBreaker<unknown>({
      name: 'first-open',
      clock,
      failureThreshold: 1,
      successThreshold: 1,
      openDuration: 1_000,
      jitter: 0,
    });
    stack?.registry.register('first-open', flap);
    const opened =
      'breakwater_state_transitions_total{breaker="first-open",from="closed",to="open"}';
    // The pair is stored at 0 before the breaker ever opened...
    await server.waitFor(opened, (answer) => answer[0]?.value === 0, 20_000);
    // ... then it opens and closes again within one turn of the event loop: no scrape sees it open.
    await flap.execute(() => Promise.reject(refused())).catch(() => {});
    expect(flap.state().name).toBe('open');
    clock.advance(1_000);
    await flap.execute(async () => 'ok');
    expect(flap.state().name).toBe('closed');
    await server.waitFor(opened, (answer) => answer[0]?.value === 1, 20_000);

    // Evaluated at the scrape that stored the 1, a range ending on a sample is not extrapolated
    // past it (nor before the 0 it starts from), so the answer is exact whatever the delays.
    const [series, ...others] = await server.stored(opened, '1m');
    expect(others).toEqual([]);
    const at = firstAt(series, 1);
    const [increase, ...more] = await server.query(`increase(${opened}[1m])`, at);
    expect(more).toEqual([]);
    expect(increase?.value).toBe(1);
    // The state gauge alone missed it (resilience4j #164): that is why the counter exists.
    const [wasOpen] = await server.query(
      'max_over_time(breakwater_circuit_state{breaker="first-open",state="open"}[1m])',
      at,
    );
    expect(wasOpen?.value).toBe(0);
  }, 60_000);

  it("the README's alert also sees a first opening in a series first stored above 0, and _other's first", async () => {
    const server = prometheus as PrometheusServer;
    // Per-key breakers on their own registry and collector, under another prefix.
    const tenants = new BreakerRegistry({
      clock: new ManualClock(1_700_000_000_000),
      defaults: { failureThreshold: 1, jitter: 0 },
    });
    tenants.get('named');
    const { logger, warnings } = capturingLogger();
    const collector = collectBreakerMetrics(tenants, {
      register,
      prefix: 'tenants_',
      maxBreakers: 2,
      logger,
    });
    try {
      const openings = 'tenants_state_transitions_total{from="closed",to="open"}';
      // _other is stored at 0 before any breaker falls past maxBreakers.
      await server.waitFor(
        `${openings}`,
        (answer) => answer.filter((s) => s.value === 0).length === 2,
        20_000,
      );
      const before = await server.query(openings);
      expect(before.map((s) => s.metric.breaker).sort()).toEqual(['_other', 'named']);

      // Between two scrapes: a new tenant takes the last own place and opens, another opens in _other.
      for (const tenant of ['tenant-a', 'tenant-b'])
        await tenants
          .get(tenant)
          .execute(() => Promise.reject(refused()))
          .catch(() => {});
      await server.waitFor(`${openings} > 0`, (answer) => answer.length === 2, 20_000);
      const stored = await server.stored(openings, '1m');
      const series = (breaker: string) => stored.find((s) => s.metric.breaker === breaker);
      // tenant-a's series is first stored at 1: increase() alone has nothing to count there.
      expect(series('tenant-a')?.samples[0]?.[1]).toBe(1);
      const at = Math.max(firstAt(series('tenant-a'), 1), firstAt(series('_other'), 1));

      const fired = await server.query(readmeAlert().replaceAll('breakwater_', 'tenants_'), at);
      expect(fired.map((s) => s.metric.breaker).sort()).toEqual(['_other', 'tenant-a']);
      const increaseOnly = await server.query(
        'increase(tenants_state_transitions_total{to="open"}[5m]) > 0',
        at,
      );
      expect(increaseOnly.map((s) => s.metric.breaker)).toEqual(['_other']);
      expect(warnings.map((w) => w.fields)).toEqual([{ breakers: 3, maxBreakers: 2, overflow: 1 }]);
    } finally {
      collector.close();
    }
  }, 60_000);
});
