import { rejectUnknownKeys, requireObject } from '@breakwater/core/validate';
import type { Registry, RegistryContentType } from 'prom-client';
import { type Collector, collectorHandle } from './collector.js';
import { type Family, registerFamilies } from './family.js';
import { bucketsOption, prefixOption, registerOption, requireMethods } from './options.js';
import { perScrape } from './per-scrape.js';

/** The options of the collectors that read a service's `stats()`. */
export interface StatsCollectorOptions {
  /** Where the metrics are registered. Default prom-client's global `register`. */
  register?: Registry<RegistryContentType> | undefined;
  /** Put before every metric name. Default `''`. */
  prefix?: string | undefined;
  /** The duration histogram's bucket bounds, in seconds. Default 5 ms to 10 s. */
  buckets?: readonly number[] | undefined;
}

const KEYS: ReadonlySet<string> = new Set(['register', 'prefix', 'buckets']);

/** What a stats collector is made of, once its options are checked. */
export interface StatsParts<S> {
  /** The source's stats, read once per scrape for all its families. */
  readonly stats: () => S;
  readonly prefix: string;
  readonly buckets: readonly number[];
}

/**
 * The authorization and scan collectors: checks the source and the options, registers the
 * families `build` makes, then subscribes (only once registering worked) until `close()`.
 */
export function statsCollector<S>(
  owner: string,
  what: string,
  source: { stats(): S },
  options: StatsCollectorOptions,
  build: (parts: StatsParts<S>) => { families: Family[]; subscribe(): () => void },
): Collector {
  requireMethods(owner, what, source, ['stats', 'on']);
  requireObject(owner, options);
  rejectUnknownKeys(owner, options, KEYS);
  const register = registerOption(owner, options.register);
  const { families, subscribe } = build({
    stats: perScrape(() => source.stats()),
    prefix: prefixOption(owner, options.prefix, ''),
    buckets: bucketsOption(owner, options.buckets),
  });
  const unregister = registerFamilies(owner, register, families);
  const unsubscribe = subscribe();
  return collectorHandle(unsubscribe, unregister);
}
