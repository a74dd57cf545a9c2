/**
 * The benchmark: every case runs every contender, interleaved, over several rounds
 * with the order rotated each round; each figure is the median over rounds, and ratios
 * are taken within the same run (absolute times drift on shared machines).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BreakerRegistry, type CircuitBreaker } from '@breakwater/core';
import { measure } from 'mitata';
import { AUTHZ_CONTENDERS, AuthzBench, type AuthzBenchOptions } from './authz.js';
import { SCAN_CONTENDERS, ScanBench, type ScanBenchOptions, type ScanRun } from './scanning.js';
import {
  bare,
  breakers,
  breakwaterTry,
  type KeyedBreakerName,
  keyedBreakers,
  type Observed,
  type RawBreakerName,
  rawBreakers,
  type Subject,
  thenWrapper,
  windowBreakers,
} from './subjects.js';

export interface BenchOptions {
  rounds: number;
  /** Minimum CPU time per timing measurement, ms. */
  minCpuMs: number;
  /** Most samples per timing measurement: bounds the slow contenders. */
  maxSamples: number;
  throughputCalls: number;
  concurrency: number;
  memoryBreakers: number;
  /** Keys in the per-key registry case. */
  registryKeys: number;
  /** Calls in the soak. */
  soakCalls: number;
  /** Case 9, scanning through a real clamd. */
  scan: ScanBenchOptions;
  /** Case 10, permission checks through a real SpiceDB. */
  authz: AuthzBenchOptions;
}

export const FULL: BenchOptions = {
  rounds: 5,
  minCpuMs: 500,
  maxSamples: 1_000,
  throughputCalls: 50_000,
  concurrency: 1_000,
  memoryBreakers: 10_000,
  registryKeys: 100_000,
  soakCalls: 2_000_000,
  scan: { smallFiles: 1_500, largeFiles: 8, largeBytes: 16 * 1024 * 1024, inFlight: 8 },
  authz: { roundTripCalls: 2_000, concurrent: 1_000 },
};

/** One row of a case: a contender's median over rounds, in the case's unit. */
export interface Row {
  name: string;
  median: number;
  perRound: number[];
}

export interface CaseResult {
  id: string;
  title: string;
  unit:
    | 'ns/call'
    | 'ns/lookup'
    | 'calls/s'
    | 'bytes/breaker'
    | 'bytes retained'
    | 'bytes grown'
    | 'files/s'
    | 'clamd CPU s per s'
    | 'CPU µs/file'
    | 'µs/call'
    | 'ms'
    | 'backend calls';
  rows: Row[];
  note?: string;
}

const noop = () => undefined;
const NEVER_TRIPS = { trip: Number.MAX_SAFE_INTEGER };
const TRIPS_AT_ONCE = { trip: 1 };

/** A case's broken assumption: a figure from a breaker in the wrong state is no figure. */
export class StateError extends Error {}

export function expectState(subject: Subject, expected: Observed, caseId: string): void {
  const actual = subject.state();
  if (actual !== expected) {
    throw new StateError(
      `case ${caseId}: ${subject.name} was ${actual} after measuring, expected ${expected}`,
    );
  }
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export async function nsPerCall(fn: () => unknown, options: BenchOptions): Promise<number> {
  const stats = await measure(fn, {
    min_cpu_time: options.minCpuMs * 1e6,
    max_samples: options.maxSamples,
    min_samples: Math.min(12, options.maxSamples),
  });
  return stats.p50;
}

interface TimedCase {
  id: string;
  title: string;
  subjects: () => Subject[];
  expected: Observed;
  /** Puts each subject in the state the case measures. */
  prepare?: (subject: Subject) => Promise<void>;
  call: (subject: Subject) => () => Promise<unknown>;
}

const TIMED: TimedCase[] = [
  {
    id: 'success',
    title: '1. success path, breaker closed: `async () => 1`',
    subjects: () => [bare, thenWrapper, ...breakers.map((make) => make(NEVER_TRIPS))],
    expected: 'closed',
    call: (subject) => subject.success,
  },
  {
    id: 'failure',
    title: '2. failure below threshold: rejects with a preallocated error, never trips',
    subjects: () => [bare, ...breakers.map((make) => make(NEVER_TRIPS))],
    expected: 'closed',
    call: (subject) => subject.failure,
  },
  {
    id: 'open',
    title: '3. open-state rejection: tripped by real failures, then ns per rejected call',
    subjects: () => [...breakers, breakwaterTry].map((make) => make(TRIPS_AT_ONCE)),
    expected: 'open',
    prepare: async (subject) => {
      for (let i = 0; i < 3; i++) await subject.failure();
    },
    // The success operation: a rejection is the breaker's own doing.
    call: (subject) => () => subject.success().catch(noop),
  },
  {
    id: 'rate-window',
    title:
      '4. rate window: every 4th call fails (25%, never trips) through a 10 s window, 50% threshold: time-window breaker vs cockatiel SamplingBreaker',
    subjects: () => [bare, ...windowBreakers.map((make) => make())],
    expected: 'closed',
    call: (subject) => subject.mixed,
  },
];

/** `calls` calls of a 1 ms timer operation, `concurrency` in flight at once: calls per second. */
async function throughput(subject: Subject, options: BenchOptions): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (started < options.throughputCalls) {
      started++;
      await subject.timer();
    }
  };
  const begin = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return options.throughputCalls / ((performance.now() - begin) / 1000);
}

const kept: { last: unknown } = { last: undefined };

/**
 * ns per lookup among `keys` per-key breakers, every key made beforehand: a plain Map (the
 * floor), our registry bare and with LRU bookkeeping, and cockatiel policies in a Map.
 */
async function registryLookups(options: BenchOptions, round: number): Promise<Map<string, number>> {
  const keys = Array.from({ length: options.registryKeys }, (_, i) => `tenant-${i}`);
  const plain = new Map<string, CircuitBreaker<unknown>>();
  const floorRegistry = new BreakerRegistry();
  const lookups: [string, (key: string) => unknown][] = [
    ['bare Map.get', (key) => plain.get(key)],
    ['breakwater registry', keyedBreakers['breakwater registry']()],
    [
      'breakwater registry, maxBreakers + idleTtl',
      (() => {
        const registry = new BreakerRegistry({ maxBreakers: keys.length, idleTtl: 3_600_000 });
        return (key: string) => registry.get(key);
      })(),
    ],
    ['cockatiel in a Map', keyedBreakers['cockatiel in a Map']()],
  ];
  for (const key of keys) plain.set(key, floorRegistry.get(key));
  const figures = new Map<string, number>();
  for (const [name, lookup] of rotate(lookups, round)) {
    for (const key of keys) lookup(key);
    let next = 0;
    // Kept, so the JIT cannot drop a lookup whose result nobody reads.
    const ns = await nsPerCall(() => {
      kept.last = lookup(keys[next++ % keys.length] as string);
    }, options);
    const sample = lookup(keys[0] as string) as { state?: unknown };
    // Every key is still there (nothing was evicted and remade) and closed.
    if (
      typeof sample.state === 'function' &&
      (sample as CircuitBreaker).state().name !== 'closed'
    ) {
      throw new StateError(`case registry: ${name} left its breakers closed state`);
    }
    figures.set(name, ns);
  }
  floorRegistry.dispose();
  return figures;
}

const MEMORY_CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const SOAK_CHILD = fileURLToPath(new URL('../packages/core/test/soak-child.ts', import.meta.url));

/**
 * Runs a measuring script in a Node process of its own, with --expose-gc, from the sources
 * (not dist/: the same code, and a fresh clone has no build); returns its JSON output.
 */
function child<T>(file: string, args: string[], timeoutMs: number): T {
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--conditions=breakwater-source', '--import', 'tsx', file, ...args],
    { encoding: 'utf8', timeout: timeoutMs },
  );
  return JSON.parse(output) as T;
}

/** Heap growth over the soak (the core's own soak test, with the figure kept): last sample minus the second. */
function soak(options: BenchOptions): number {
  const { samples } = child<{ samples: number[] }>(
    SOAK_CHILD,
    [String(options.soakCalls)],
    300_000,
  );
  return (samples.at(-1) as number) - (samples[1] as number);
}

/** Heap per breaker (made and used once) and heap still held once all are dropped, measured in a child process. */
function memory(
  name: RawBreakerName | KeyedBreakerName,
  options: BenchOptions,
  count = options.memoryBreakers,
): { perBreaker: number; retained: number } {
  return child(MEMORY_CHILD, [name, String(count)], 120_000);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function collectRows(samples: Map<string, number[]>): Row[] {
  return [...samples].map(([name, perRound]) => ({ name, median: median(perRound), perRound }));
}

export function push(samples: Map<string, number[]>, name: string, value: number): void {
  const list = samples.get(name) ?? [];
  list.push(value);
  samples.set(name, list);
}

/**
 * Which cases to run: all of them, or only the scanning case (`npm run bench -- --scan`), or
 * only the authorization case (`npm run bench -- --authz`).
 */
export type CaseSelection = 'all' | 'scan' | 'authz';

export async function runBench(
  options: BenchOptions,
  log: (line: string) => void = noop,
  selection: CaseSelection = 'all',
): Promise<CaseResult[]> {
  if (selection === 'scan') return scanCases(options, log);
  if (selection === 'authz') return authzCases(options, log);
  const cores = await coreCases(options, log);
  const scans = await scanCases(options, log);
  return [...cores, ...scans, ...(await authzCases(options, log))];
}

async function coreCases(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<CaseResult[]> {
  const timed = TIMED.map(() => new Map<string, number[]>());
  const ops = new Map<string, number[]>();
  const heap = new Map<string, number[]>();
  const retained = new Map<string, number[]>();
  const lookups = new Map<string, number[]>();
  const keyedHeap = new Map<string, number[]>();
  const soakGrowth = new Map<string, number[]>();

  for (let round = 0; round < options.rounds; round++) {
    log(`round ${round + 1}/${options.rounds}`);
    for (const [index, spec] of rotate([...TIMED.entries()], round)) {
      for (const subject of rotate(spec.subjects(), round)) {
        await spec.prepare?.(subject);
        expectState(subject, spec.expected, spec.id);
        const ns = await nsPerCall(spec.call(subject), options);
        expectState(subject, spec.expected, spec.id);
        subject.dispose();
        push(timed[index] as Map<string, number[]>, subject.name, ns);
      }
    }
    for (const subject of rotate([bare, ...breakers.map((make) => make(NEVER_TRIPS))], round)) {
      push(ops, subject.name, await throughput(subject, options));
      expectState(subject, 'closed', 'throughput');
      subject.dispose();
    }
    for (const name of rotate(Object.keys(rawBreakers) as RawBreakerName[], round)) {
      const { perBreaker, retained: left } = memory(name, options);
      push(heap, name, perBreaker);
      push(retained, name, left);
    }
    for (const [name, ns] of await registryLookups(options, round)) push(lookups, name, ns);
    for (const name of rotate(Object.keys(keyedBreakers) as KeyedBreakerName[], round)) {
      push(keyedHeap, name, memory(name, options, options.registryKeys).perBreaker);
    }
    push(soakGrowth, 'breakwater', soak(options));
  }

  return [
    ...TIMED.map((spec, index) => ({
      id: spec.id,
      title: spec.title,
      unit: 'ns/call' as const,
      rows: collectRows(timed[index] as Map<string, number[]>),
    })),
    {
      id: 'throughput',
      title: `5. throughput: ${options.concurrency} calls in flight of a 1 ms timer operation, ${options.throughputCalls} calls`,
      unit: 'calls/s',
      rows: collectRows(ops),
    },
    {
      id: 'heap',
      title: `6. memory: heap per breaker (${options.memoryBreakers} breakers, each used once; own process per library)`,
      unit: 'bytes/breaker',
      rows: collectRows(heap),
    },
    {
      id: 'retained',
      title: '6. memory: heap still held after dropping every breaker',
      unit: 'bytes retained',
      rows: collectRows(retained),
    },
    {
      id: 'registry',
      title: `7. scale: ${options.registryKeys.toLocaleString('en-US')} per-key breakers, ns per lookup of a key, round robin`,
      unit: 'ns/lookup',
      rows: collectRows(lookups),
    },
    {
      id: 'registry-heap',
      title: `7. scale: heap per breaker among ${options.registryKeys.toLocaleString('en-US')} per-key breakers (own process)`,
      unit: 'bytes/breaker',
      rows: collectRows(keyedHeap),
    },
    {
      id: 'soak',
      title: `8. soak: heap growth over ${options.soakCalls.toLocaleString('en-US')} calls through one breaker opening and closing hundreds of times (tenth of the way to the end)`,
      unit: 'bytes grown',
      rows: collectRows(soakGrowth),
    },
  ];
}

/**
 * Case 9, its own rounds over one clamd and one set of files: the contenders take turns, in
 * an order rotated each round, over the small files and then the large ones.
 */
async function scanCases(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<CaseResult[]> {
  const { smallFiles, largeFiles, largeBytes, inFlight } = options.scan;
  const titles = {
    small: `9. scanning ${smallFiles.toLocaleString('en-US')} small files (0.5-15 KB, seeded random), ${inFlight} in flight, through a real clamd`,
    large: `9. scanning ${largeFiles} files of ${largeBytes / 1024 / 1024} MiB, ${inFlight} in flight, through a real clamd`,
  };
  const bench = await ScanBench.start(options.scan, log);
  if (bench === undefined) {
    const note = 'clamd is not installed (apt-get install clamav-daemon): skipped';
    return (['small', 'large'] as const).map((size) => ({
      id: `scan-${size}`,
      title: titles[size],
      unit: 'files/s' as const,
      rows: [],
      note,
    }));
  }
  const figures = {
    small: {
      rate: new Map<string, number[]>(),
      cpu: new Map<string, number[]>(),
      cost: new Map<string, number[]>(),
    },
    large: {
      rate: new Map<string, number[]>(),
      cpu: new Map<string, number[]>(),
      cost: new Map<string, number[]>(),
    },
  };
  const order = SCAN_CONTENDERS.map((_, index) => index);
  try {
    for (let round = 0; round < options.rounds; round++) {
      log(`scan round ${round + 1}/${options.rounds}`);
      for (const size of ['small', 'large'] as const) {
        const runs: Map<string, ScanRun> = await bench.round(bench[size], rotate(order, round));
        for (const [name, run] of runs) {
          push(figures[size].rate, name, run.filesPerSecond);
          push(figures[size].cpu, name, run.clamdCpuShare);
          push(figures[size].cost, name, run.cpuPerFile);
        }
      }
    }
  } finally {
    await bench.stop();
  }
  return (['small', 'large'] as const).flatMap((size) => [
    {
      id: `scan-${size}`,
      title: titles[size],
      unit: 'files/s' as const,
      rows: collectRows(figures[size].rate),
    },
    {
      id: `scan-${size}-cpu`,
      title: `${titles[size]}: clamd's CPU seconds (user + system, /proc) per wall second of each run (the machine has ${availableParallelism()} cores)`,
      unit: 'clamd CPU s per s' as const,
      rows: collectRows(figures[size].cpu),
    },
    {
      id: `scan-${size}-cost`,
      title: `${titles[size]}: CPU time per file, this process's and clamd's together (what a busy machine pays)`,
      unit: 'CPU µs/file' as const,
      rows: collectRows(figures[size].cost),
    },
  ]);
}

/**
 * Case 10, its own rounds over one SpiceDB server: the cached check and the open breaker's
 * fallback timed like cases 1-3, the round trip with the contenders alternating call by call,
 * and the concurrent identical checks counted and timed.
 */
async function authzCases(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<CaseResult[]> {
  const { roundTripCalls, concurrent } = options.authz;
  const cached = new Map<string, number[]>();
  const roundTrip = new Map<string, number[]>();
  const open = new Map<string, number[]>();
  const backendCalls = new Map<string, number[]>();
  const wall = new Map<string, number[]>();
  const bench = await AuthzBench.start(log);
  try {
    for (let round = 0; round < options.rounds; round++) {
      log(`authz round ${round + 1}/${options.rounds}`);
      for (const [name, call] of rotate(bench.cachedContenders(), round))
        push(cached, name, await nsPerCall(call, options));
      for (const [name, call] of rotate(bench.openContenders(), round))
        push(open, name, await nsPerCall(call, options));
      bench.verify();
      for (const [name, micros] of await bench.roundTrip(options.authz, round))
        push(roundTrip, name, median(micros));
      const shared = await bench.concurrent(options.authz);
      push(backendCalls, AUTHZ_CONTENDERS.shared, shared.backendCalls);
      push(wall, AUTHZ_CONTENDERS.shared, shared.serviceMs);
      push(wall, `${AUTHZ_CONTENDERS.direct} x${concurrent}`, shared.directMs);
    }
  } finally {
    await bench.stop();
  }
  const spicedb = 'a real SpiceDB server (embedded engine, own process) over loopback gRPC';
  return [
    {
      id: 'authz-cached',
      title:
        '10. authorization: a cached check (AuthorizationService.check answered by the decision cache) vs a Map.get of a precomputed key',
      unit: 'ns/call',
      rows: collectRows(cached),
    },
    {
      id: 'authz-roundtrip',
      title: `10. authorization: an uncached check through ${spicedb}, one at a time, the contenders alternating call by call (${roundTripCalls.toLocaleString('en-US')} calls each a round, median call)`,
      unit: 'µs/call',
      rows: collectRows(roundTrip),
    },
    {
      id: 'authz-concurrent',
      title: `10. authorization: ${concurrent.toLocaleString('en-US')} concurrent identical uncached checks (a fresh service, empty cache), calls that reached ${spicedb}`,
      unit: 'backend calls',
      rows: collectRows(backendCalls),
    },
    {
      id: 'authz-concurrent-wall',
      title: `10. authorization: ${concurrent.toLocaleString('en-US')} concurrent identical uncached checks, wall time until every one is decided`,
      unit: 'ms',
      rows: collectRows(wall),
    },
    {
      id: 'authz-open',
      title:
        '10. authorization: a fallback decision while the breaker is open (forceOpen, denyAll), no network',
      unit: 'ns/call',
      rows: collectRows(open),
    },
  ];
}
