import type { Collector } from './collector.js';
import { type Sample, scrapedFamily } from './family.js';
import { HistogramFamily } from './histogram.js';
import { type StatsCollectorOptions, statsCollector } from './stats-collector.js';

/**
 * What the collector reads of `ScanManager.stats()` by shape: declared
 * here, not imported, so that this package's types build without the optional scanbridge peer.
 */
export interface ScanSourceStats {
  /** Every engine, by name, with its runs by outcome; an outcome appears once it happened. */
  readonly engines: {
    readonly [engine: string]: { readonly [outcome: string]: number | undefined };
  };
  readonly decisions: { readonly [action: string]: number };
  readonly bytesScanned: number;
}

/** What the collector reads of a ScanManager: a `ScanManager` is one. */
export interface ScanSource {
  stats(): ScanSourceStats;
  on(
    event: 'engineScan',
    listener: (event: { readonly engine: string; readonly durationMs: number }) => void,
  ): () => void;
}

/**
 * The verdicts exported from the first scrape, at 0 until they happen, so that `increase()`
 * sees an engine's first infected file (a series that appears at 1 is no increase); failure
 * kinds and fail_open appear once they happen.
 */
const VERDICTS = ['clean', 'infected', 'suspicious', 'error'] as const;

export type ScanMetricsOptions = StatsCollectorOptions;

/**
 * Prometheus metrics of a ScanManager: its counts read from `stats()` when scraped, and a
 * histogram of each engine's scan duration fed by its `engineScan` event.
 */
export function collectScanMetrics(
  manager: ScanSource,
  options: ScanMetricsOptions = {},
): Collector {
  return statsCollector<ScanSourceStats>(
    'collectScanMetrics',
    'manager',
    manager,
    options,
    ({ stats, prefix, buckets }) => {
      const durations = new HistogramFamily(
        `${prefix}scanbridge_scan_duration_seconds`,
        'Time one engine took on one scan, in seconds, from its start to its result or failure',
        buckets,
      );
      const families = [
        scrapedFamily(
          `${prefix}scanbridge_scans_total`,
          "Engine runs by engine and outcome: the verdict (clean, infected, suspicious, error: exported from the start, at 0 until they happen), fail_open for a breaker's fail-open stand-in, or the kind of failure (circuit_open, timeout, connection_failed, ...), once they happen",
          'counter',
          'sum',
          () => {
            const samples: Sample[] = [];
            for (const [engine, outcomes] of Object.entries(stats().engines)) {
              for (const outcome of VERDICTS)
                samples.push({ labels: { engine, outcome }, value: outcomes[outcome] ?? 0 });
              for (const [outcome, count] of Object.entries(outcomes)) {
                if (count !== undefined && !VERDICTS.includes(outcome as (typeof VERDICTS)[number]))
                  samples.push({ labels: { engine, outcome }, value: count });
              }
            }
            return samples;
          },
        ),
        durations,
        scrapedFamily(
          `${prefix}scanbridge_decisions_total`,
          'Policy decisions by action (allow, allow_with_warning, quarantine, block, require_review)',
          'counter',
          'sum',
          () =>
            Object.entries(stats().decisions).map(([action, count]) => ({
              labels: { action },
              value: count,
            })),
        ),
        scrapedFamily(
          `${prefix}scanbridge_bytes_scanned_total`,
          'Bytes of the files scanned, each file counted once however many engines read it',
          'counter',
          'sum',
          () => [{ labels: {}, value: stats().bytesScanned }],
        ),
      ];
      return {
        families,
        subscribe: () =>
          manager.on('engineScan', ({ engine, durationMs }) =>
            durations.observe(durations.seriesFor(engine, { engine }), durationMs / 1000),
          ),
      };
    },
  );
}
