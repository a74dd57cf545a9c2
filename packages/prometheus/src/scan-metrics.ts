import type { ScanManager, ScanStats } from '@breakwater/scanbridge';
import type { Collector } from './collector.js';
import { type Sample, scrapedFamily } from './family.js';
import { HistogramFamily } from './histogram.js';
import { type StatsCollectorOptions, statsCollector } from './stats-collector.js';

/** What the collector reads of a ScanManager. */
export type ScanSource = Pick<ScanManager, 'stats' | 'on'>;

export type ScanMetricsOptions = StatsCollectorOptions;

/**
 * Prometheus metrics of a ScanManager: its counts read from `stats()` when scraped, and a
 * histogram of each engine's scan duration fed by its `engineScan` event.
 */
export function collectScanMetrics(
  manager: ScanSource,
  options: ScanMetricsOptions = {},
): Collector {
  return statsCollector<ScanStats>(
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
          "Engine runs by engine and outcome: the verdict (clean, infected, suspicious, error), fail_open for a breaker's fail-open stand-in, or the kind of failure (circuit_open, timeout, connection_failed, ...)",
          'counter',
          'sum',
          () => {
            const samples: Sample[] = [];
            for (const [engine, outcomes] of Object.entries(stats().engines)) {
              for (const [outcome, count] of Object.entries(outcomes))
                samples.push({ labels: { engine, outcome }, value: count as number });
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
