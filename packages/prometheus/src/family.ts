import type { Metric } from 'prom-client';
import { MetricNameTakenError } from './errors.js';
import type { AnyRegistry } from './options.js';

/** One sample of a family, as prom-client's registry formats it. */
export interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  /** A histogram's `_bucket`, `_sum` and `_count` samples name themselves. */
  readonly metricName?: string;
}

export type FamilyType = 'counter' | 'gauge' | 'histogram';

/** How prom-client's cluster registry combines the workers' values of a family. */
export type Aggregator = 'sum' | 'max' | 'average';

/**
 * A metric family prom-client's registry can scrape: what `registerMetric` needs of a metric
 * (`get()`, `reset()`, the name and type). prom-client's own Gauge and Counter keep values set
 * between scrapes, hashing every label set on each `set()`, and a Counter cannot be set at all;
 * ours hand the registry the samples read at scrape time, with nothing kept in between.
 */
export interface Family {
  /** Not readonly: in OpenMetrics mode prom-client strips `_total` from a counter's name. */
  name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly aggregator: Aggregator;
  get(): Promise<{
    name: string;
    help: string;
    type: FamilyType;
    aggregator: Aggregator;
    values: readonly Sample[];
  }>;
  /** prom-client's `resetMetrics()` calls it on every metric. */
  reset(): void;
}

/** A family whose samples are read from the source when the registry asks for them. */
export function scrapedFamily(
  name: string,
  help: string,
  type: FamilyType,
  aggregator: Aggregator,
  read: () => readonly Sample[],
): Family {
  return {
    name,
    help,
    type,
    aggregator,
    // Async for prom-client's signature; the body runs at once, when the registry calls it.
    async get() {
      return { name: this.name, help, type, aggregator, values: read() };
    },
    // Nothing is kept between scrapes, so there is nothing to reset.
    reset() {},
  };
}

/**
 * Registers every family, or none: a name already taken fails before anything is added. Returns
 * what removes them again (only the ones still ours: the application may have replaced one).
 */
export function registerFamilies(
  owner: string,
  register: AnyRegistry,
  families: readonly Family[],
): () => void {
  for (const family of families) {
    if (register.getSingleMetric(family.name) !== undefined)
      throw new MetricNameTakenError(owner, family.name);
  }
  // Kept apart from `family.name`, which prom-client may rewrite in OpenMetrics mode.
  const names = families.map((family) => family.name);
  for (const family of families) register.registerMetric(family as unknown as Metric);
  return () => {
    families.forEach((family, i) => {
      const name = names[i] as string;
      if ((register.getSingleMetric(name) as unknown) === family) register.removeSingleMetric(name);
    });
  };
}
