import type { Collector } from './collector.js';
import { type Sample, scrapedFamily } from './family.js';
import { HistogramFamily } from './histogram.js';
import { type StatsCollectorOptions, statsCollector } from './stats-collector.js';

/**
 * What the collector reads of `AuthorizationService.stats()` by shape: declared
 * here, not imported, so that this package's types build without the optional authz peer.
 */
export interface AuthorizationSourceStats {
  readonly checks: {
    readonly [S in (typeof SOURCES)[number]]: { readonly allowed: number; readonly denied: number };
  };
  /** Undefined when the service has no cache. */
  readonly cache: { readonly entries: number } | undefined;
  readonly fallbacks: {
    readonly [strategy: string]: { readonly [R in (typeof REASONS)[number]]: number };
  };
}

/** What the collector reads of an AuthorizationService: an `AuthorizationService` is one. */
export interface AuthorizationSource {
  stats(): AuthorizationSourceStats;
  on(event: 'decision', listener: (event: { readonly durationMs: number }) => void): () => void;
}

export type AuthorizationMetricsOptions = StatsCollectorOptions;

const SOURCES = ['cache', 'spicedb', 'fallback'] as const;
const REASONS = ['circuit_open', 'backend_error', 'timeout'] as const;

/**
 * Prometheus metrics of an AuthorizationService: its counts read from `stats()` when scraped,
 * and a histogram of check durations fed by its `decision` event (the one subscription, a
 * listener call per decided check).
 */
export function collectAuthorizationMetrics(
  service: AuthorizationSource,
  options: AuthorizationMetricsOptions = {},
): Collector {
  return statsCollector<AuthorizationSourceStats>(
    'collectAuthorizationMetrics',
    'service',
    service,
    options,
    ({ stats, prefix, buckets }) => {
      const durations = new HistogramFamily(
        `${prefix}authorization_check_duration_seconds`,
        'Time to decide a permission check, in seconds, from the cache, SpiceDB or the fallback strategy',
        buckets,
      );
      const families = [
        scrapedFamily(
          `${prefix}authorization_check_total`,
          'Permission checks decided, by result (allowed, denied) and source (cache, spicedb, fallback)',
          'counter',
          'sum',
          () => {
            const { checks } = stats();
            const samples: Sample[] = [];
            for (const source of SOURCES) {
              samples.push({
                labels: { result: 'allowed', source },
                value: checks[source].allowed,
              });
              samples.push({ labels: { result: 'denied', source }, value: checks[source].denied });
            }
            return samples;
          },
        ),
        durations,
        scrapedFamily(
          `${prefix}authorization_cache_entries`,
          'Decisions held in the decision cache; absent when the service has no cache',
          'gauge',
          'sum',
          () => {
            const { cache } = stats();
            return cache === undefined ? [] : [{ labels: {}, value: cache.entries }];
          },
        ),
        scrapedFamily(
          `${prefix}authorization_fallback_total`,
          'Checks the fallback strategy decided, by strategy and by why SpiceDB did not (circuit_open, backend_error, timeout)',
          'counter',
          'sum',
          () => {
            const samples: Sample[] = [];
            for (const [strategy, counts] of Object.entries(stats().fallbacks)) {
              for (const reason of REASONS)
                samples.push({ labels: { strategy, reason }, value: counts[reason] });
            }
            return samples;
          },
        ),
      ];
      const series = durations.seriesFor('', {});
      return {
        families,
        subscribe: () =>
          service.on('decision', ({ durationMs }) => durations.observe(series, durationMs / 1000)),
      };
    },
  );
}
