/** Turns case results into ratios, target verdicts and a Markdown report. */
import { AUTHZ_CONTENDERS } from './authz.js';
import { GATEWAY_CONTENDERS } from './gateway.js';
import type { CaseResult, Row } from './harness.js';
import { METRICS_CONTENDERS } from './metrics.js';

export interface Target {
  description: string;
  /** The measured ratio, or undefined when a figure it needs is missing. */
  value: number | undefined;
  limit: number;
  /** 'max': value must be <= limit; 'min': value must be >= limit. */
  kind: 'max' | 'min';
  met: boolean;
}

function figure(cases: CaseResult[], id: string, name: string): number | undefined {
  return cases.find((c) => c.id === id)?.rows.find((r) => r.name === name)?.median;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** Our overhead over the bare call as a share of cockatiel's overhead. */
function overheadShare(cases: CaseResult[], id: string): number | undefined {
  const base = figure(cases, id, 'bare await');
  const ours = figure(cases, id, 'breakwater');
  const theirs = figure(cases, id, 'cockatiel');
  if (base === undefined || ours === undefined || theirs === undefined) return undefined;
  return ratio(ours - base, theirs - base);
}

function target(
  description: string,
  value: number | undefined,
  kind: 'max' | 'min',
  limit: number,
): Target {
  const met = value !== undefined && (kind === 'max' ? value <= limit : value >= limit);
  return { description, value, limit, kind, met };
}

const MANAGER = 'ScanManager.scanWithPolicy';
const BARE_SCANNER = 'bare ClamAvScanner.scan';
const CLAMSCAN = 'clamscan 2.4.0 scanStream';

/** Case 9's targets, when it ran (it is skipped without clamd). */
function scanTargets(cases: CaseResult[]): Target[] {
  if (figure(cases, 'scan-small', BARE_SCANNER) === undefined) return [];
  const scan = (id: string, a: string, b: string) =>
    ratio(figure(cases, id, a), figure(cases, id, b));
  return [
    target(
      'scanning small files: manager / bare scanner',
      scan('scan-small', MANAGER, BARE_SCANNER),
      'min',
      0.9,
    ),
    target(
      'scanning small files: bare scanner / clamscan',
      scan('scan-small', BARE_SCANNER, CLAMSCAN),
      'min',
      1.2,
    ),
    target(
      'scanning 16 MB files: manager / bare scanner',
      scan('scan-large', MANAGER, BARE_SCANNER),
      'min',
      0.9,
    ),
  ];
}

/** Case 10's targets, when it ran. */
function authzTargets(cases: CaseResult[]): Target[] {
  if (!cases.some((c) => c.id === 'authz-cached')) return [];
  const { map, cached, direct, service, shared, fallback } = AUTHZ_CONTENDERS;
  // One round sharing less than it should is a miss, whatever the others did.
  const calls = cases
    .find((c) => c.id === 'authz-concurrent')
    ?.rows.find((r) => r.name === shared)?.perRound;
  return [
    target(
      'authz cached check: AuthorizationService.check / bare Map.get',
      ratio(figure(cases, 'authz-cached', cached), figure(cases, 'authz-cached', map)),
      'max',
      3,
    ),
    target(
      'authz uncached check over gRPC: AuthorizationService.check / bare authzed-node checkPermission',
      ratio(figure(cases, 'authz-roundtrip', service), figure(cases, 'authz-roundtrip', direct)),
      'max',
      1.05,
    ),
    target(
      'authz concurrent identical uncached checks: backend calls, worst round',
      calls === undefined || calls.length === 0 ? undefined : Math.max(...calls),
      'max',
      1,
    ),
    target(
      'authz fallback decision while open: ns per check',
      figure(cases, 'authz-open', fallback),
      'max',
      2_000,
    ),
  ];
}

/** Case 11's target, when it ran: the default collector costs the call path nothing. */
function metricsTargets(cases: CaseResult[]): Target[] {
  if (!cases.some((c) => c.id === 'metrics-success')) return [];
  const { plain, collected } = METRICS_CONTENDERS;
  return [
    target(
      'metrics: success path with collectBreakerMetrics / without',
      ratio(figure(cases, 'metrics-success', collected), figure(cases, 'metrics-success', plain)),
      'max',
      1.1,
    ),
  ];
}

/**
 * Case 12's targets, when it ran: the gateway, loaded over HTTP by a client in a process of its
 * own as callers are, at 0.8x or more of the files/s the same files get through ScanManager
 * in-process, from disk (the issue's target: what a program scanning its
 * files in-process gets), and from a stream as the gateway hands them over (what HTTP,
 * authorization and the upload intake alone cost).
 */
function gatewayTargets(cases: CaseResult[]): Target[] {
  if (!cases.some((c) => c.id === 'gateway-throughput')) return [];
  const { fromPath, fromStream, http } = GATEWAY_CONTENDERS;
  const versus = (base: string) =>
    ratio(figure(cases, 'gateway-throughput', http), figure(cases, 'gateway-throughput', base));
  return [
    target(
      'gateway: files/s over HTTP / ScanManager.scanWithPolicy in-process, files from disk',
      versus(fromPath),
      'min',
      0.8,
    ),
    target(
      'gateway: files/s over HTTP / ScanManager.scanWithPolicy in-process, the same stream input',
      versus(fromStream),
      'min',
      0.8,
    ),
  ];
}

export function targets(cases: CaseResult[], breakersMeasured: number): Target[] {
  // `--scan`, `--authz`, `--metrics` and `--gateway` run case 9, 10, 11 or 12 alone: the breaker
  // cases' targets have nothing to judge.
  const selected = [
    ...scanTargets(cases),
    ...authzTargets(cases),
    ...metricsTargets(cases),
    ...gatewayTargets(cases),
  ];
  if (!cases.some((c) => c.id === 'success')) return selected;
  const retained = figure(cases, 'retained', 'breakwater');
  return [
    target(
      'success path: breakwater / do-nothing .then wrapper',
      ratio(figure(cases, 'success', 'breakwater'), figure(cases, 'success', 'do-nothing .then')),
      'max',
      1.3,
    ),
    target(
      "success path: our overhead over bare / cockatiel's",
      overheadShare(cases, 'success'),
      'max',
      0.25,
    ),
    target(
      "failure path: our overhead over bare / cockatiel's",
      overheadShare(cases, 'failure'),
      'max',
      1 / 3,
    ),
    target(
      'open-state rejection: breakwater / cockatiel',
      ratio(figure(cases, 'open', 'breakwater'), figure(cases, 'open', 'cockatiel')),
      'max',
      1 / 3,
    ),
    target(
      'throughput, 1,000 in flight: breakwater / bare',
      ratio(figure(cases, 'throughput', 'breakwater'), figure(cases, 'throughput', 'bare await')),
      'min',
      0.85,
    ),
    target(
      'heap per breaker: breakwater / cockatiel',
      ratio(figure(cases, 'heap', 'breakwater'), figure(cases, 'heap', 'cockatiel')),
      'max',
      0.5,
    ),
    // GC accounting wobbles by a few KiB; a leak of even 8 bytes a breaker stands far above it.
    target(
      'retained after drop: breakwater bytes per breaker',
      retained === undefined ? undefined : retained / breakersMeasured,
      'max',
      8,
    ),
    ...selected,
  ];
}

function format(value: number | undefined, unit?: string): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (
    unit === 'calls/s' ||
    unit === 'files/s' ||
    unit === 'bytes retained' ||
    unit === 'bytes grown' ||
    unit === 'backend calls'
  )
    return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** A measured ratio near its limit needs a third digit: 0.899 must not read as 0.90, missed. */
function targetFigure(value: number | undefined): string {
  return value !== undefined && Math.abs(value) < 10 ? value.toFixed(3) : format(value);
}

function table(result: CaseResult): string[] {
  if (result.rows.length === 0) return [`_${result.note ?? 'no figures'}_`];
  // The floor of a case is its `bare ...` row (bare await, bare Map.get); the peer to beat,
  // cockatiel's, where the case has one.
  const base = result.rows.find((r) => r.name.startsWith('bare '));
  const cockatiel = result.rows.find((r) => r.name.startsWith('cockatiel'));
  const peer = cockatiel === undefined ? '' : ' × cockatiel |';
  const lines = [
    `| contender | ${result.unit} (median) | × bare |${peer}`,
    `| --- | ---: | ---: |${cockatiel === undefined ? '' : ' ---: |'}`,
  ];
  for (const row of result.rows as Row[]) {
    const versus =
      cockatiel === undefined ? '' : ` ${format(ratio(row.median, cockatiel.median))} |`;
    lines.push(
      `| ${row.name} | ${format(row.median, result.unit)} | ${format(ratio(row.median, base?.median))} |${versus}`,
    );
  }
  return lines;
}

export function markdown(cases: CaseResult[], checks: Target[], header: string): string {
  const lines = [header, ''];
  for (const result of cases) lines.push(`### ${result.title}`, '', ...table(result), '');
  lines.push('### Targets', '', '| target | measured | limit | |', '| --- | ---: | ---: | --- |');
  for (const t of checks) {
    lines.push(
      `| ${t.description} | ${targetFigure(t.value)} | ${t.kind === 'max' ? '<=' : '>='} ${format(t.limit)} | ${t.met ? 'met' : '**MISSED**'} |`,
    );
  }
  return lines.join('\n');
}
