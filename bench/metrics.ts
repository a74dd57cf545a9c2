/**
 * Case 11: what @breakwater/prometheus costs. The success path of one breaker among 1,000 in a
 * registry, bare and with `collectBreakerMetrics` attached (scraped between rounds: the default
 * collector must cost calls nothing) and with `durations: true` (what timing every call costs);
 * then the time one scrape (`register.metrics()`) takes over 1,000 and 10,000 breakers.
 */
import { BreakerRegistry, type CircuitBreaker } from '@breakwater/core';
import { collectBreakerMetrics } from '@breakwater/prometheus';
import { Registry } from 'prom-client';
import {
  type BenchOptions,
  type CaseResult,
  collectRows,
  median,
  nsPerCall,
  push,
  type Row,
  rotate,
  StateError,
} from './harness.js';
import { SUCCESS } from './subjects.js';

export const METRICS_CONTENDERS = {
  bare: 'bare await',
  plain: 'breakwater, no collector',
  collected: 'breakwater + collectBreakerMetrics',
  durations: 'breakwater + collectBreakerMetrics, durations: true',
} as const;

const REGISTRY_BREAKERS = 1_000;
/** Registry sizes and `maxBreakers` of the scrape case. */
const SCRAPES = [
  { breakers: 1_000, maxBreakers: 1_000 },
  { breakers: 10_000, maxBreakers: 1_000 },
  { breakers: 10_000, maxBreakers: 10_000 },
] as const;
const SCRAPES_PER_ROUND = 10;
const NEVER_TRIPS = { failureThreshold: Number.MAX_SAFE_INTEGER };

interface Contender {
  readonly name: string;
  readonly call: () => Promise<unknown>;
  /** Throws when the figure cannot stand: the breaker left closed, or the collector saw nothing. */
  check(): Promise<void>;
  dispose(): void;
}

/** One breaker of a registry of 1,000, with a collector of its own register if asked. */
function contender(name: string, collect: 'none' | 'default' | 'durations'): Contender {
  const registry = new BreakerRegistry({ defaults: NEVER_TRIPS });
  for (let i = 0; i < REGISTRY_BREAKERS; i++) registry.get(`tenant-${i}`);
  const breaker: CircuitBreaker<unknown> = registry.get('tenant-500');
  const register = new Registry();
  const collector =
    collect === 'none'
      ? undefined
      : collectBreakerMetrics(registry, { register, durations: collect === 'durations' });
  return {
    name,
    call: () => breaker.execute(SUCCESS),
    async check() {
      if (breaker.state().name !== 'closed')
        throw new StateError(`case metrics: ${name} left its breaker ${breaker.state().name}`);
      if (collector === undefined) return;
      // A scrape between rounds, as Prometheus would make; it must see this breaker's calls.
      const text = await register.metrics();
      const calls = text.match(
        /breakwater_calls_total\{breaker="tenant-500",outcome="success"\} (\d+)/,
      );
      const timed = text.match(
        /breakwater_call_duration_seconds_count\{breaker="tenant-500",outcome="success"\} (\d+)/,
      );
      const seen = Number(calls?.[1] ?? 0);
      if (seen === 0 || (collect === 'durations') !== Number(timed?.[1] ?? 0) > 0)
        throw new StateError(
          `case metrics: ${name}'s collector did not see the calls as it should`,
        );
    },
    dispose() {
      collector?.close();
      registry.dispose();
    },
  };
}

/** ms per `register.metrics()` over `breakers` breakers, the median of a few. */
async function scrapeMs(breakers: number, maxBreakers: number): Promise<number> {
  const registry = new BreakerRegistry({ defaults: NEVER_TRIPS });
  for (let i = 0; i < breakers; i++) registry.get(`tenant-${i}`);
  // Some in every state, as a real registry has.
  registry.get('tenant-1').forceOpen();
  registry.get('tenant-2').disable();
  const register = new Registry();
  const collector = collectBreakerMetrics(registry, {
    register,
    maxBreakers,
    // Past maxBreakers the summing is the point; the warning says so once, here it is noise.
    logger: { warn: () => undefined },
  });
  const times: number[] = [];
  for (let i = 0; i < SCRAPES_PER_ROUND; i++) {
    const started = performance.now();
    await register.metrics();
    times.push(performance.now() - started);
  }
  collector.close();
  registry.dispose();
  return median(times);
}

export async function metricsCases(
  options: BenchOptions,
  log: (line: string) => void = () => undefined,
): Promise<CaseResult[]> {
  const success = new Map<string, number[]>();
  const scrape = new Map<string, number[]>();
  const { bare, plain, collected, durations } = METRICS_CONTENDERS;
  for (let round = 0; round < options.rounds; round++) {
    log(`metrics round ${round + 1}/${options.rounds}`);
    const contenders: (() => Contender)[] = [
      () => ({ name: bare, call: SUCCESS, check: async () => {}, dispose: () => {} }),
      () => contender(plain, 'none'),
      () => contender(collected, 'default'),
      () => contender(durations, 'durations'),
    ];
    for (const make of rotate(contenders, round)) {
      const subject = make();
      push(success, subject.name, await nsPerCall(subject.call, options));
      await subject.check();
      subject.dispose();
    }
    for (const { breakers, maxBreakers } of rotate(SCRAPES, round)) {
      push(scrape, scrapeName(breakers, maxBreakers), await scrapeMs(breakers, maxBreakers));
    }
  }
  return [
    {
      id: 'metrics-success',
      title: `11. metrics: success path of one breaker among ${REGISTRY_BREAKERS.toLocaleString('en-US')} in a registry, \`async () => 1\`, without and with collectBreakerMetrics (scraped between rounds)`,
      unit: 'ns/call',
      rows: collectRows(success),
    },
    {
      id: 'metrics-scrape',
      title: `11. metrics: one scrape (register.metrics(), the exposition text) of collectBreakerMetrics, median of ${SCRAPES_PER_ROUND}`,
      unit: 'ms',
      // In order of size, whatever order the rounds ran them in.
      rows: SCRAPES.map(({ breakers, maxBreakers }) => scrapeName(breakers, maxBreakers)).map(
        (name) => collectRows(scrape).find((row) => row.name === name) as Row,
      ),
    },
  ];
}

function scrapeName(breakers: number, maxBreakers: number): string {
  const own = Math.min(breakers, maxBreakers);
  const summed = breakers - own;
  return `${breakers.toLocaleString('en-US')} breakers, maxBreakers ${maxBreakers.toLocaleString('en-US')}${summed > 0 ? ` (${summed.toLocaleString('en-US')} under _other)` : ''}`;
}
