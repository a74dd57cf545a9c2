import type { Attributes, Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'vitest';

/** A reader that collects only when the test asks, in the temporality the test chose. */
class OnDemandReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }

  protected override async onForceFlush(): Promise<void> {}

  protected override async onShutdown(): Promise<void> {}
}

/** A real SDK MeterProvider with one on-demand reader: `collect()` runs every callback once. */
export class MeterHarness {
  readonly provider: MeterProvider;
  readonly meter: Meter;
  private readonly reader: OnDemandReader;

  constructor(temporality = AggregationTemporality.CUMULATIVE, views: ViewOptions[] = []) {
    this.reader = new OnDemandReader(temporality);
    this.provider = new MeterProvider({ readers: [this.reader], views });
    this.meter = this.provider.getMeter('breakwater-test');
  }

  /** One collection; any error a callback threw fails the test. */
  async collect(): Promise<Collection> {
    const { resourceMetrics, errors } = await this.reader.collect();
    expect(errors).toEqual([]);
    return new Collection(resourceMetrics);
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

export interface Point<V = number> {
  readonly attributes: Attributes;
  readonly value: V;
}

/** What one collection exported, by instrument name. */
export class Collection {
  constructor(readonly resourceMetrics: ResourceMetrics) {}

  /** The instrument names that have data points. */
  names(): string[] {
    return this.resourceMetrics.scopeMetrics.flatMap((scope) =>
      scope.metrics.filter((m) => m.dataPoints.length > 0).map((m) => m.descriptor.name),
    );
  }

  /** The instrument's metric data, or undefined when it exported nothing. */
  metric(name: string) {
    for (const scope of this.resourceMetrics.scopeMetrics) {
      const found = scope.metrics.find((m) => m.descriptor.name === name);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  points(name: string): Point[] {
    return ((this.metric(name)?.dataPoints ?? []) as DataPoint<number>[]).map((p) => ({
      attributes: p.attributes,
      value: p.value,
    }));
  }

  /** The points with the time each series started: a new start time is a reset to the SDK. */
  pointsWithTimes(name: string): (Point & { startTime: DataPoint<number>['startTime'] })[] {
    return ((this.metric(name)?.dataPoints ?? []) as DataPoint<number>[]).map((p) => ({
      attributes: p.attributes,
      value: p.value,
      startTime: p.startTime,
    }));
  }

  histograms(name: string): Point<Histogram>[] {
    return ((this.metric(name)?.dataPoints ?? []) as DataPoint<Histogram>[]).map((p) => ({
      attributes: p.attributes,
      value: p.value,
    }));
  }

  /** The values by their attributes' values under `keys`, joined with '/': `cache/allowed`. */
  keyed(name: string, ...keys: string[]): Record<string, number> {
    return keyedBy(this.points(name), keys);
  }

  /** The histograms by their attributes' values under `keys`, joined with '/'. */
  keyedHistograms(name: string, ...keys: string[]): Record<string, Histogram> {
    return keyedBy(this.histograms(name), keys);
  }

  /** The value of the point whose attributes are exactly `attributes`; undefined when absent. */
  value(name: string, attributes: Attributes = {}): number | undefined {
    return this.points(name).find((p) => sameAttributes(p.attributes, attributes))?.value;
  }

  /** The points of one breaker, keyed by their other attributes (e.g. `closed`, or `open>half_open`). */
  byBreaker(name: string, breaker: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const point of this.points(name)) {
      const { 'breakwater.breaker': of, ...rest } = point.attributes;
      if (of !== breaker) continue;
      out[Object.values(rest).join('>')] = point.value;
    }
    return out;
  }
}

function keyedBy<V>(points: readonly Point<V>[], keys: readonly string[]): Record<string, V> {
  return Object.fromEntries(
    points.map((p) => [keys.map((key) => String(p.attributes[key])).join('/'), p.value]),
  );
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
