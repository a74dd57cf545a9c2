import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLAMD } from '../packages/scanbridge/test/clamd-process.js';
import { AUTHZ_CONTENDERS } from './authz.js';
import { GATEWAY_CONTENDERS, gatewayCases } from './gateway.js';
import { type BenchOptions, expectState, runBench, StateError } from './harness.js';
import { METRICS_CONTENDERS, metricsCases } from './metrics.js';
import { markdown, targets } from './report.js';
import { SCAN_CONTENDERS } from './scanning.js';
import { breakwater } from './subjects.js';

// Tiny counts: this proves the harness runs every case end to end. Timings belong to `npm run bench`.
const SMOKE: BenchOptions = {
  rounds: 2,
  minCpuMs: 2,
  maxSamples: 12,
  throughputCalls: 400,
  concurrency: 50,
  memoryBreakers: 5_000,
  registryKeys: 2_000,
  soakCalls: 20_000,
  scan: { smallFiles: 30, largeFiles: 2, largeBytes: 256 * 1024, inFlight: 8 },
  authz: { roundTripCalls: 20, concurrent: 100 },
};

/** Processes whose parent is this one, from /proc: what a case started and left running. */
function children(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name may hold spaces; the state and the parent's pid follow it.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(parent) === process.pid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

describe('benchmark harness', () => {
  it('runs every case for every contender and reports ratios and targets', async () => {
    const before = children();
    const cases = await runBench(SMOKE);
    // clamd and the SpiceDB server were started and stopped by their cases.
    expect(children().filter((pid) => !before.includes(pid))).toEqual([]);
    const byId = new Map(cases.map((c) => [c.id, c]));
    const names = (id: string) =>
      byId
        .get(id)
        ?.rows.map((r) => r.name)
        .sort();
    expect(names('success')).toEqual([
      'bare await',
      'breakwater',
      'cockatiel',
      'do-nothing .then',
      'opossum',
    ]);
    expect(names('failure')).toEqual(['bare await', 'breakwater', 'cockatiel', 'opossum']);
    expect(names('open')).toEqual(['breakwater', 'breakwater tryExecute', 'cockatiel', 'opossum']);
    expect(names('rate-window')).toEqual(['bare await', 'breakwater', 'cockatiel', 'opossum']);
    expect(names('registry')).toEqual([
      'bare Map.get',
      'breakwater registry',
      'breakwater registry, maxBreakers + idleTtl',
      'cockatiel in a Map',
    ]);
    expect(names('registry-heap')).toEqual(['breakwater registry', 'cockatiel in a Map']);
    expect(names('soak')).toEqual(['breakwater']);
    expect(names('throughput')).toEqual(['bare await', 'breakwater', 'cockatiel', 'opossum']);
    expect(names('heap')).toEqual(['breakwater', 'cockatiel', 'opossum']);
    for (const result of cases) {
      for (const row of result.rows) {
        expect(row.perRound).toHaveLength(SMOKE.rounds);
        expect(Number.isFinite(row.median)).toBe(true);
        // A run may be too short for clamd to be charged a clock tick.
        const mayBeZero = ['retained', 'soak', 'scan-small-cpu', 'scan-large-cpu'];
        if (!mayBeZero.includes(result.id)) expect(row.median).toBeGreaterThan(0);
      }
    }

    // Case 9 runs against a real clamd, and is a note without one.
    const scanning = [...SCAN_CONTENDERS].sort();
    if (CLAMD !== undefined) {
      for (const size of ['small', 'large'])
        for (const id of [`scan-${size}`, `scan-${size}-cpu`, `scan-${size}-cost`])
          expect(names(id)).toEqual(scanning);
    } else {
      expect(byId.get('scan-small')?.note).toMatch(/clamd is not installed/);
    }

    // Case 10 runs against a real SpiceDB server the case starts.
    const { map, awaitedMap, cached, cachedSync, direct, checker, service, shared } =
      AUTHZ_CONTENDERS;
    const { fallback, openBreaker } = AUTHZ_CONTENDERS;
    expect(names('authz-cached')).toEqual([awaitedMap, map, cached, cachedSync].sort());
    expect(names('authz-roundtrip')).toEqual([direct, checker, service].sort());
    expect(names('authz-open')).toEqual([openBreaker, fallback].sort());
    expect(names('authz-concurrent-wall')).toEqual([`${direct} x100`, shared].sort());
    // 100 identical checks at once, one backend call, every round.
    expect(byId.get('authz-concurrent')?.rows).toEqual([
      { name: shared, median: 1, perRound: [1, 1] },
    ]);

    const checks = targets(cases, SMOKE.memoryBreakers);
    expect(checks).toHaveLength(CLAMD === undefined ? 11 : 14);
    // `--authz` runs case 10 alone: its four targets, and nothing the other cases would judge.
    const alone = targets(
      cases.filter((c) => c.id.startsWith('authz-')),
      SMOKE.memoryBreakers,
    );
    expect(alone.map((t) => t.description)).toEqual(
      checks.filter((t) => t.description.startsWith('authz ')).map((t) => t.description),
    );
    expect(alone).toHaveLength(4);
    for (const check of checks) expect(Number.isFinite(check.value)).toBe(true);
    const report = markdown(cases, checks, '## smoke');
    expect(report).toContain('### 1. success path');
    expect(report).toContain('| breakwater |');
    expect(report).toMatch(
      /\| open-state rejection: breakwater \/ cockatiel \| [\d.]+ \| <= 0\.33 \| (met|\*\*MISSED\*\*) \|/,
    );
    expect(report).toContain('### 10. authorization: a cached check');
    expect(report).toMatch(
      /\| authz concurrent identical uncached checks: backend calls, worst round \| 1\.000 \| <= 1\.00 \| met \|/,
    );
  }, 120_000);

  it('runs case 11 (the metrics collector) and judges its target', async () => {
    const cases = await metricsCases(SMOKE);
    const success = cases.find((c) => c.id === 'metrics-success');
    expect(success?.rows.map((r) => r.name).sort()).toEqual(
      Object.values(METRICS_CONTENDERS).sort(),
    );
    const scrape = cases.find((c) => c.id === 'metrics-scrape');
    expect(scrape?.rows).toHaveLength(3);
    for (const row of [...(success?.rows ?? []), ...(scrape?.rows ?? [])]) {
      expect(row.perRound).toHaveLength(SMOKE.rounds);
      expect(row.median).toBeGreaterThan(0);
    }
    const checks = targets(cases, SMOKE.memoryBreakers);
    expect(checks.map((t) => t.description)).toEqual([
      'metrics: success path with collectBreakerMetrics / without',
    ]);
    expect(markdown(cases, checks, '## smoke')).toContain('### 11. metrics');
  }, 120_000);

  it('runs case 12 (uploads through the gateway and in-process) and judges its targets', async () => {
    const before = children();
    const cases = await gatewayCases(SMOKE.rounds, undefined, {
      uploads: 48,
      bytes: 10 * 1024,
      inFlight: 8,
    });
    for (const id of ['gateway-throughput', 'gateway-p50', 'gateway-p99']) {
      const rows = cases.find((c) => c.id === id)?.rows ?? [];
      expect(rows.map((r) => r.name).sort()).toEqual(Object.values(GATEWAY_CONTENDERS).sort());
      for (const row of rows) {
        expect(row.perRound).toHaveLength(SMOKE.rounds);
        expect(row.median).toBeGreaterThan(0);
      }
    }
    const checks = targets(cases, SMOKE.memoryBreakers);
    expect(checks.map((t) => t.description)).toEqual([
      'gateway: files/s over HTTP / ScanManager.scanWithPolicy in-process, files from disk',
      'gateway: files/s over HTTP / ScanManager.scanWithPolicy in-process, the same stream input',
    ]);
    expect(markdown(cases, checks, '## smoke')).toContain('### 12. gateway');
    // The embedded SpiceDB and the YARA process are stopped with the case.
    expect(children().filter((pid) => !before.includes(pid))).toEqual([]);
  }, 120_000);

  it('refuses a figure from a breaker that left the state its case assumes', async () => {
    const subject = breakwater({ trip: 1 });
    expect(() => expectState(subject, 'closed', 'success')).not.toThrow();
    await subject.failure();
    expect(() => expectState(subject, 'closed', 'success')).toThrow(StateError);
    expect(() => expectState(subject, 'closed', 'success')).toThrow(
      /breakwater was open after measuring, expected closed/,
    );
  });
});
