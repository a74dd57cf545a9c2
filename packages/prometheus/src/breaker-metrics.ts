import type { BreakerRegistry } from '@breakwater/core';
import { OTHER, RegistryObserver } from '@breakwater/core/observe';
import {
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import type { Registry, RegistryContentType } from 'prom-client';
import { addSeries, type BreakerScrape, emptyScrape, PromSeries } from './breaker-series.js';
import { CallDurations } from './call-durations.js';
import { type Collector, collectorHandle } from './collector.js';
import { type Family, registerFamilies, scrapedFamily } from './family.js';
import {
  booleanOption,
  bucketsOption,
  loggerOption,
  prefixOption,
  registerOption,
  requireMethods,
  type WarnLogger,
} from './options.js';
import { perScrape } from './per-scrape.js';

export interface BreakerMetricsOptions {
  /** Where the metrics are registered. Default prom-client's global `register`. */
  register?: Registry<RegistryContentType> | undefined;
  /** Starts every metric name. Default `'breakwater_'`. */
  prefix?: string | undefined;
  /**
   * Breakers with series of their own, at most, at any time (each keeps its own or its `_other`
   * share for life); the rest are summed under `breaker="_other"`. Default 1000.
   */
  maxBreakers?: number | undefined;
  /**
   * Also `<prefix>call_duration_seconds`, a histogram of every call's duration. It needs each
   * call's start time, which takes every breaker off its fast path. Default false.
   */
  durations?: boolean | undefined;
  /** The duration histogram's bucket bounds, in seconds. Default 5 ms to 10 s. */
  buckets?: readonly number[] | undefined;
  /** pino-compatible; warned once when breakers are first summed under `_other`. Default `process.emitWarning`. */
  logger?: WarnLogger | undefined;
}

/** The code of the process warning emitted once when breakers are summed under `_other`. */
export const OVERFLOW_WARNING = 'BREAKWATER_METRICS_OVERFLOW';

const OWNER = 'collectBreakerMetrics';
const KEYS: ReadonlySet<string> = new Set([
  'register',
  'prefix',
  'maxBreakers',
  'durations',
  'buckets',
  'logger',
]);

/**
 * Prometheus metrics of every breaker in `registry`, present and future, read from the breakers
 * when Prometheus scrapes: the default metrics subscribe to nothing, so calls pay nothing.
 */
export function collectBreakerMetrics(
  registry: BreakerRegistry,
  options: BreakerMetricsOptions = {},
): Collector {
  requireMethods(OWNER, 'registry', registry, ['forEach', 'find', 'on']);
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KEYS);
  const register = registerOption(OWNER, options.register);
  const prefix = prefixOption(OWNER, options.prefix, 'breakwater_');
  const maxBreakers = integerAtLeast(OWNER, 'maxBreakers', orDefault(options.maxBreakers, 1000), 0);
  const durations = booleanOption(OWNER, 'durations', options.durations, false);
  const buckets = bucketsOption(OWNER, options.buckets);
  const logger = loggerOption(OWNER, options.logger);

  let timing: CallDurations | undefined;
  let ids = 0;
  const observer = new RegistryObserver<PromSeries>(registry, {
    maxBreakers,
    series: (name) => new PromSeries(name, ids++),
    released: (series) => timing?.release(series),
  });
  let warned = false;
  const scrape = perScrape((): BreakerScrape => {
    const result = emptyScrape();
    const walked = observer.walk((reading) => addSeries(result, reading));
    result.health = walked.health;
    if (walked.overflow > 0 && !warned) {
      warned = true;
      warnOverflow(logger, maxBreakers, walked.breakers, walked.overflow);
    }
    return result;
  });
  const families: Family[] = [
    scrapedFamily(
      `${prefix}circuit_state`,
      'Circuit breaker state: 1 for the current state (closed, open, half_open, forced_open: held open by an operator, disabled), 0 for the others; under breaker="_other", the number of breakers in each state',
      'gauge',
      'sum',
      () => scrape().state,
    ),
    scrapedFamily(
      `${prefix}calls_total`,
      'Calls through the breaker by outcome: success; failure (an error the failure policy counts); ignored (an error it does not count, or a cancellation); rejected (refused while open or half-open with every probe slot taken); timeout (ran past the timeout, also counted as failure or ignored); fallback (answered by the fallback)',
      'counter',
      'sum',
      () => scrape().calls,
    ),
    scrapedFamily(
      `${prefix}state_transitions_total`,
      'State transitions of the breaker by from and to state, counted as they happen, so an opening shorter than the scrape interval is seen; forcing a timed open open counts open to open; closed to open, open to half_open, half_open to open and half_open to closed are exported from the first scrape (0 until they happen), other pairs once they happen',
      'counter',
      'sum',
      () => scrape().transitions,
    ),
    scrapedFamily(
      `${prefix}failure_rate`,
      "Share of counted failures in the breaker's rate window (0 to 1); absent without a window or below its minimumCalls",
      'gauge',
      'average',
      () => scrape().failureRate,
    ),
    scrapedFamily(
      `${prefix}slow_call_rate`,
      "Share of slow calls in the breaker's rate window (0 to 1); absent without a window or below its minimumCalls",
      'gauge',
      'average',
      () => scrape().slowCallRate,
    ),
    scrapedFamily(
      `${prefix}health_status`,
      "The registry's health roll-up: 0 healthy, 1 warning, 2 degraded, 3 critical (the worst of its breakers: an open breaker counts as its criticality, half-open or disabled as warning)",
      'gauge',
      'max',
      () => [{ labels: {}, value: scrape().health }],
    ),
  ];
  if (durations) {
    // Registry order decides who has series of their own, not which breaker is called first.
    observer.prime();
    timing = new CallDurations(
      registry,
      observer,
      `${prefix}call_duration_seconds`,
      buckets,
      scrape,
    );
  }
  if (timing !== undefined) families.push(timing.family);
  let unregister: () => void;
  try {
    unregister = registerFamilies(OWNER, register, families);
  } catch (error) {
    timing?.close();
    throw error;
  }
  return collectorHandle(() => timing?.close(), unregister);
}

function warnOverflow(
  logger: WarnLogger | undefined,
  maxBreakers: number,
  breakers: number,
  overflow: number,
) {
  const message = `${OWNER}: ${overflow} of the registry's ${breakers} breakers are summed under breaker="${OTHER}": only maxBreakers (${maxBreakers}) get series of their own (said once)`;
  if (logger === undefined) process.emitWarning(message, { code: OVERFLOW_WARNING });
  else logger.warn({ breakers, maxBreakers, overflow }, message);
}
