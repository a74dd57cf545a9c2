import { rejectUnknownKeys, requireObject } from '@breakwater/core/validate';
import type { ScanManager } from '@breakwater/scanbridge';
import type { Registry, RegistryContentType } from 'prom-client';
import type { Collector } from './breaker-metrics.js';
import { registerFamilies, type Sample, scrapedFamily } from './family.js';
import { HistogramFamily } from './histogram.js';
import { bucketsOption, prefixOption, registerOption, requireMethods } from './options.js';
import { perScrape } from './per-scrape.js';

/** What the collector reads of a ScanManager. */
export type ScanSource = Pick<ScanManager, 'stats' | 'on'>;

export interface ScanMetricsOptions {
  /** Where the metrics are registered. Default prom-client's global `register`. */
  register?: Registry<RegistryContentType> | undefined;
  /** Put before every metric name. Default `''`. */
  prefix?: string | undefined;
  /** The scan duration histogram's bucket bounds, in seconds. Default 5 ms to 10 s. */
  buckets?: readonly number[] | undefined;
}

const OWNER = 'collectScanMetrics';
const KEYS: ReadonlySet<string> = new Set(['register', 'prefix', 'buckets']);

/**
 * Prometheus metrics of a ScanManager: its counts read from `stats()` when scraped, and a
 * histogram of each engine's scan duration fed by its `engineScan` event.
 */
export function collectScanMetrics(
  manager: ScanSource,
  options: ScanMetricsOptions = {},
): Collector {
  requireMethods(OWNER, 'manager', manager, ['stats', 'on']);
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KEYS);
  const register = registerOption(OWNER, options.register);
  const prefix = prefixOption(OWNER, options.prefix, '');
  const buckets = bucketsOption(OWNER, options.buckets);

  const stats = perScrape(() => manager.stats());
  const durations = new HistogramFamily(
    `${prefix}scanbridge_scan_duration_seconds`,
    'Time one engine took on one scan, in seconds, from its start to its result or failure',
    buckets,
  );
  const unregister = registerFamilies(OWNER, register, [
    scrapedFamily(
      `${prefix}scanbridge_scans_total`,
      "Engine runs by engine and outcome: the verdict (clean, infected, suspicious, error), fail_open for a breaker's fail-open stand-in, or the kind of failure (circuit_open, timeout, connection_failed, ...)",
      'counter',
      'sum',
      () => {
        const samples: Sample[] = [];
        for (const [engine, outcomes] of Object.entries(stats().engines)) {
          for (const [outcome, count] of Object.entries(outcomes))
            samples.push({ labels: { engine, outcome }, value: count });
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
  ]);
  const unsubscribe = manager.on('engineScan', ({ engine, durationMs }) =>
    durations.observe(durations.seriesFor(engine, { engine }), durationMs / 1000),
  );
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      unsubscribe();
      unregister();
    },
  };
}
