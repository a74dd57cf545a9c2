import type { Aggregator, Family, FamilyType, Sample } from './family.js';

/** One label set's observations: a count per bucket (not cumulative; the last is +Inf), sum, count. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram family fed by events. prom-client's Histogram validates and hashes the label set
 * on every `observe()`; here a caller holds its series and an observation is a bucket search
 * and three additions, which matters where it runs inside a breaker's call (`durations: true`).
 */
export class HistogramFamily implements Family {
  name: string;
  readonly type: FamilyType = 'histogram';
  readonly aggregator: Aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    /** Called before each scrape's samples are made: drops series whose subject is gone. */
    private readonly beforeScrape: () => void = () => {},
  ) {
    this.name = name;
  }

  /** The series under `key`, made with `labels` the first time. */
  seriesFor(key: string, labels: Readonly<Record<string, string>>): HistogramSeries {
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  /** Records `value` (seconds) in `series`: `le` buckets are inclusive, as Prometheus's are. */
  observe(series: HistogramSeries, value: number): void {
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    series.counts[bucket] = (series.counts[bucket] as number) + 1;
    series.sum += value;
    series.count++;
  }

  /** Forgets a series: its subject left, and its label set with it. */
  delete(key: string): void {
    this.series.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.series.keys();
  }

  async get() {
    this.beforeScrape();
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += counts[i] as number;
        values.push({
          metricName: bucketName,
          labels: { ...labels, le: this.bounds[i] as number },
          value: cumulative,
        });
      }
      values.push({ metricName: bucketName, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  /** prom-client's `resetMetrics()`: zeroes every series in place, as callers hold them. */
  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
