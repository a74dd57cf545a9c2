import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { FallbackStrategy } from '../src/fallback.js';
import { SpiceDbChecker } from '../src/spicedb-checker.js';
import { spiceDbErrorFrom } from '../src/spicedb-error.js';
import type { CheckRequest, Decision, PermissionChecker } from '../src/types.js';
import { sleep, startStack } from './real-stack.js';
import { useSpiceDb } from './spicedb.js';

const spicedb = useSpiceDb();

const CHECKS = 1_000;
// The run goes on past CHECKS until this many calls reached the checker. A check the breaker
// answers while open or half-open takes microseconds and one that reaches SpiceDB milliseconds,
// so how many of a fixed count reach it depends on the machine's load (120-150 of 1,000 idle,
// under 60 beside four CPU burners): counting calls keeps the chaos the same under any load.
const MIN_CALLS = 200;
// A run the breaker never lets through stops here, and fails on MIN_CALLS.
const MAX_CHECKS = 10 * CHECKS;
const FAILURE_RATE = 0.3;
const WORKERS = 8;
// 100 ms per check (the guide's 2 s would make a stalled call cost the run seconds) and 5 ms
// open (the guide's 60 s would leave the breaker open for the rest of the run after the first
// three failures in a row): the run passes through closed, open and half-open many times.
const BREAKER = { timeout: 100, openDuration: 5, jitter: 0 };
// No check may take longer than its time limit and this: room for a loaded 2-core machine (a
// timer 326 ms late was seen at a load average of 9-14), far below the checker's own 2 s gRPC
// deadline that a missing time limit would fall back on.
const MARGIN_MS = 600;

/** mulberry32: the same seed gives the same run, so a failure here can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Fault = 'unavailable' | 'deadline' | 'exhausted' | 'lost_answer' | 'stall';

/** What a grpc-js call fails with, turned into our error exactly as SpiceDbChecker does. */
function grpcFailure(code: number, details: string): unknown {
  return spiceDbErrorFrom('CheckPermission', { code, details }, (text) => text);
}

/** The faults in the order they are injected, as often as an outage has each. */
const FAULTS: readonly Fault[] = [
  'unavailable',
  'deadline',
  'unavailable',
  'exhausted',
  'lost_answer',
  'unavailable',
  'deadline',
  'lost_answer',
  'exhausted',
  'stall',
];

/**
 * The real checker with 30% of its calls failing the ways a SpiceDB outage fails them: refused
 * connections, deadlines, overload, an answer lost after SpiceDB gave it, and calls that hang
 * until the breaker's time limit aborts them. Exactly 3 calls of every 10 fail, at places a
 * seeded draw picks, so the rate holds however many calls the breaker lets through.
 */
class ChaosChecker implements PermissionChecker {
  calls = 0;
  failures = 0;
  readonly injected: Record<Fault, number> = {
    unavailable: 0,
    deadline: 0,
    exhausted: 0,
    lost_answer: 0,
    stall: 0,
  };
  private faults = 0;
  private block: boolean[] = [];

  constructor(
    private readonly inner: PermissionChecker,
    private readonly random: () => number,
  ) {}

  async check(req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    this.calls++;
    try {
      return await this.answer(req, signal);
    } catch (error) {
      this.failures++;
      throw error;
    }
  }

  health(signal: AbortSignal): Promise<void> {
    return this.inner.health(signal);
  }

  private nextFails(): boolean {
    if (this.block.length === 0) {
      const block = Array.from({ length: 10 }, (_, i) => i < 10 * FAILURE_RATE);
      for (let i = block.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [block[i], block[j]] = [block[j] as boolean, block[i] as boolean];
      }
      this.block = block;
    }
    return this.block.pop() as boolean;
  }

  private async answer(req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    if (!this.nextFails()) return this.inner.check(req, signal);
    const fault = FAULTS[this.faults++ % FAULTS.length] as Fault;
    this.injected[fault]++;
    switch (fault) {
      case 'unavailable':
        throw grpcFailure(
          status.UNAVAILABLE,
          'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50051',
        );
      case 'deadline':
        throw grpcFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 2.001s');
      case 'exhausted':
        throw grpcFailure(status.RESOURCE_EXHAUSTED, 'dispatch concurrency limit reached');
      case 'lost_answer':
        await this.inner.check(req, signal);
        throw grpcFailure(status.UNAVAILABLE, 'Connection dropped');
      case 'stall':
        return new Promise<boolean>((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
    }
  }
}

const SUBJECTS = ['user:alice', 'user:bob', 'user:carol', 'user:dave'];
const ASKED: readonly [string, string][] = [
  ['document:plan', 'read'],
  ['document:plan', 'write'],
  ['document:notes', 'read'],
  ['document:notes', 'write'],
  ['tenant:acme', 'view'],
  ['tenant:acme', 'manage'],
  ['health:status', 'read'],
];
const POOL: readonly CheckRequest[] = SUBJECTS.flatMap((subject) =>
  ASKED.map(([resource, permission]) => ({ subject, resource, permission })),
);
const key = (req: CheckRequest): string =>
  JSON.stringify([req.subject, req.resource, req.permission]);

interface Outcome {
  readonly req: CheckRequest;
  readonly decision: Decision | undefined;
  readonly escaped: unknown;
  readonly ms: number;
}

describe('chaos: 1,000 checks and more, 200 of them calls to a real SpiceDB with 30% injected failures', () => {
  // Far more than a run takes (about 1 s idle, a few beside CPU burners); MAX_CHECKS bounds it.
  it('every check resolves in time to the true answer or a labelled fallback, and stats() adds up', {
    timeout: 60_000,
  }, async () => {
    // Apart, so the plan stays the same whatever order the calls draw their faults in.
    const random = seeded(13);
    const faultDraws = seeded(14);
    let chaos: ChaosChecker | undefined;
    const stack = await startStack(spicedb(), {
      breaker: BREAKER,
      // Decisions answer for 50 ms, then stay for the fallback: the run uses fresh hits, misses
      // and expired entries read by useCachedRules.
      cache: { ttl: 50, staleTtl: 60_000 },
      fallback: FallbackStrategy.useCachedRules(),
      wrap: (checker) => {
        chaos = new ChaosChecker(checker, faultDraws);
        return chaos;
      },
    });
    const injected = chaos as ChaosChecker;
    const plan: CheckRequest[] = [];
    for (let i = 0; i < MAX_CHECKS; i++) {
      const req = POOL[Math.floor(random() * POOL.length)] as CheckRequest;
      plan.push(random() < 0.2 ? { ...req, consistency: 'fully_consistent' } : req);
    }

    const outcomes: Outcome[] = [];
    let next = 0;
    // Eight callers at once, each asking its next check a millisecond after it has an answer:
    // identical checks meet in flight, and a stalled call holds up only its own caller. The pause
    // is what a caller serving requests has anyway; without it, callers answered in microseconds
    // while the breaker is open or half-open would loop on promises alone, thousands of checks
    // before the event loop could deliver the probe's answer that ends the phase.
    const more = (): boolean => next < plan.length && (next < CHECKS || injected.calls < MIN_CALLS);
    const worker = async (): Promise<void> => {
      while (more()) {
        const req = plan[next++] as CheckRequest;
        const started = performance.now();
        let decision: Decision | undefined;
        let escaped: unknown;
        try {
          decision = await stack.service.check(req);
        } catch (error) {
          escaped = error;
        }
        outcomes.push({ req, decision, escaped, ms: performance.now() - started });
        await sleep(1);
      }
    };
    try {
      await Promise.all(Array.from({ length: WORKERS }, worker));
    } finally {
      await stack.close();
    }

    // The truth, asked afterwards straight from the server (no proxy, no chaos, fully consistent).
    const truthChecker = new SpiceDbChecker({
      endpoint: spicedb().endpoint,
      token: spicedb().token,
      insecure: true,
      consistency: 'fully_consistent',
    });
    const answers = await truthChecker
      .checkMany(POOL, new AbortController().signal)
      .finally(() => truthChecker.close());
    const truth = new Map(POOL.map((req, i) => [key(req), answers[i] as boolean]));
    expect(new Set(answers)).toEqual(new Set([true, false]));

    expect(outcomes.length).toBeGreaterThanOrEqual(CHECKS);
    expect(outcomes.filter((o) => o.escaped !== undefined).map((o) => o.escaped)).toEqual([]);
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    expect(slowest).toBeLessThan(BREAKER.timeout + MARGIN_MS);

    const bySource = { cache: 0, spicedb: 0, fallback: 0 };
    const byReason = { circuit_open: 0, backend_error: 0, timeout: 0 };
    for (const { req, decision } of outcomes) {
      const d = decision as Decision;
      const real = truth.get(key(req));
      bySource[d.source]++;
      if (d.source === 'fallback') {
        expect(d.strategy).toBe('use_cached_rules');
        expect(Object.keys(byReason)).toContain(d.reason);
        byReason[d.reason as keyof typeof byReason]++;
        // The stale cache may answer, but never with an allow SpiceDB did not give.
        if (d.allowed) expect(real, JSON.stringify(req)).toBe(true);
      } else {
        expect(d.allowed, JSON.stringify({ req, d })).toBe(real);
        expect(d.reason).toBe(real ? 'has_permission' : 'no_permission');
        expect(d.strategy).toBeUndefined();
      }
      if (d.source === 'cache') expect(req.consistency).toBeUndefined();
    }

    // The chaos was what it claims: MIN_CALLS calls at least reached the checker before MAX_CHECKS
    // ran out, and 30% of them failed (3 of every 10, so a run that stops inside a block of 10 is
    // off by at most 3).
    const faults = Object.values(injected.injected).reduce((a, b) => a + b, 0);
    expect(injected.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(Math.abs(faults - injected.calls * FAILURE_RATE)).toBeLessThanOrEqual(3);
    for (const count of Object.values(injected.injected)) expect(count).toBeGreaterThan(0);
    // And every state was visited: real answers, cache hits and each fallback reason.
    for (const count of [...Object.values(bySource), ...Object.values(byReason)])
      expect(count).toBeGreaterThan(0);

    const stats = stack.service.stats();
    const { checks } = stats;
    expect(checks.cache.allowed + checks.cache.denied).toBe(bySource.cache);
    expect(checks.spicedb.allowed + checks.spicedb.denied).toBe(bySource.spicedb);
    expect(checks.fallback.allowed + checks.fallback.denied).toBe(bySource.fallback);
    expect(
      Object.values(checks).reduce((sum, counts) => sum + counts.allowed + counts.denied, 0),
    ).toBe(outcomes.length);
    expect(stats.fallbacks).toEqual({ use_cached_rules: byReason });
    expect(byReason.circuit_open + byReason.backend_error + byReason.timeout).toBe(
      bySource.fallback,
    );

    // Each cacheable check looked in the cache once: a hit answered it, or a miss sent it on.
    const cacheable = outcomes.filter(({ req }) => req.consistency === undefined).length;
    const cache = stats.cache as NonNullable<typeof stats.cache>;
    expect(cache.hits).toBe(bySource.cache);
    expect(cache.hits + cache.misses).toBe(cacheable);

    // Every call the breaker let through reached the checker once, and each failure counted.
    expect(stats.backend.calls).toBe(injected.calls);
    expect(stats.backend.errors).toBe(injected.failures);
    expect(injected.failures).toBeGreaterThanOrEqual(faults);
    expect(stats.backend.latencyMs.count).toBe(injected.calls);
    expect(stats.backend.latencyMs.max).toBeLessThan(BREAKER.timeout + MARGIN_MS);
    expect(stats.requestErrors).toBe(0);
  });
});
