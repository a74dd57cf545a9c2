import { type BatchObservableCallback, ValueType } from '@opentelemetry/api';
import { AttributeSets } from './attribute-sets.js';
import {
  type Instrumentation,
  type MeterOptions,
  meterOnly,
  observing,
  requireSource,
  secondsHistogram,
} from './meter.js';

/**
 * What the instruments read of an AuthorizationService: its counters and its `decision` event.
 * Declared here, not imported, so this package's types compile without the optional
 * authorization package installed; the service fits it as it is.
 */
export interface AuthorizationSource {
  stats(): AuthorizationCounts;
  on(event: 'decision', listener: (decision: { readonly durationMs: number }) => void): () => void;
}

/** The part of `AuthorizationService.stats()` the instruments report. */
export interface AuthorizationCounts {
  readonly checks: {
    readonly [S in 'cache' | 'spicedb' | 'fallback']: {
      readonly allowed: number;
      readonly denied: number;
    };
  };
  /** `undefined` when the service has no cache. */
  readonly cache: { readonly entries: number } | undefined;
  /** By the strategy's name, then by why SpiceDB did not decide. */
  readonly fallbacks: { readonly [strategy: string]: { readonly [reason: string]: number } };
}

export type InstrumentAuthorizationOptions = MeterOptions;

const OWNER = 'instrumentAuthorization';
const SOURCES = ['cache', 'spicedb', 'fallback'] as const;
const RESULTS = ['allowed', 'denied'] as const;

/**
 * Reports an AuthorizationService's checks by result and source, its cache's size and its
 * fallback decisions by strategy and reason, read from `stats()` once per collection; and each
 * check's duration, from its `decision` event (the one listener this adds to the service).
 */
export function instrumentAuthorization(
  service: AuthorizationSource,
  options: InstrumentAuthorizationOptions,
): Instrumentation {
  requireSource(OWNER, service, 'an AuthorizationService');
  const meter = meterOnly(OWNER, options);

  const checks = meter.createObservableCounter('authorization.checks', {
    description:
      'Checks decided, by result (allowed, denied) and source (cache, spicedb, fallback)',
    unit: '{check}',
    valueType: ValueType.INT,
  });
  const cacheEntries = meter.createObservableGauge('authorization.cache.entries', {
    description: 'Decisions held in the cache; absent when the service has no cache',
    unit: '{entry}',
    valueType: ValueType.INT,
  });
  const fallbacks = meter.createObservableCounter('authorization.fallbacks', {
    description:
      'Checks the fallback strategy decided, by strategy and by why SpiceDB did not (circuit_open, backend_error, timeout)',
    unit: '{check}',
    valueType: ValueType.INT,
  });
  const observables = [checks, cacheEntries, fallbacks];
  const checkSets = new AttributeSets(['authorization.result', 'authorization.source']);
  const fallbackSets = new AttributeSets(['authorization.strategy', 'authorization.reason']);

  const observe: BatchObservableCallback = (result) => {
    const stats = service.stats();
    for (const source of SOURCES) {
      for (const verdict of RESULTS) {
        result.observe(checks, stats.checks[source][verdict], checkSets.get(verdict, source));
      }
    }
    if (stats.cache !== undefined) result.observe(cacheEntries, stats.cache.entries);
    for (const [strategy, reasons] of Object.entries(stats.fallbacks)) {
      for (const [reason, count] of Object.entries(reasons)) {
        result.observe(fallbacks, count, fallbackSets.get(strategy, reason));
      }
    }
  };

  const duration = secondsHistogram(
    meter,
    'authorization.check.duration',
    "How long checks took to decide, from any source, on the service's clock",
  );
  const unsubscribe = service.on('decision', ({ durationMs }) => {
    duration.record(durationMs / 1000);
  });

  return observing(meter, observe, observables, [unsubscribe]);
}
