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
 * What the instruments read of a ScanManager: its counters and its `engineScan` event. Declared
 * here, not imported, so this package's types compile without the optional
 * scanbridge package installed; the manager fits it as it is.
 */
export interface ScanSource {
  stats(): ScanCounts;
  on(
    event: 'engineScan',
    listener: (run: { readonly engine: string; readonly durationMs: number }) => void,
  ): () => void;
}

/** The part of `ScanManager.stats()` the instruments report. */
export interface ScanCounts {
  /** Every engine by name, with its runs by outcome (an outcome appears once it has happened). */
  readonly engines: {
    readonly [engine: string]: { readonly [outcome: string]: number | undefined };
  };
  readonly decisions: { readonly [action: string]: number };
  readonly bytesScanned: number;
}

export type InstrumentScansOptions = MeterOptions;

const OWNER = 'instrumentScans';

/**
 * An engine's verdicts, exported at 0 from the first collection so that `increase()` sees the
 * first infected file; failure kinds and `fail_open` appear once they have happened.
 */
const VERDICTS: ReadonlySet<string> = new Set(['clean', 'infected', 'suspicious', 'error']);

/**
 * Reports a ScanManager's engine runs by engine and outcome, its policy decisions by action and
 * the bytes it scanned, read from `stats()` once per collection; and each engine run's
 * duration, from its `engineScan` event (the one listener this adds to the manager).
 */
export function instrumentScans(
  manager: ScanSource,
  options: InstrumentScansOptions,
): Instrumentation {
  requireSource(OWNER, manager, 'a ScanManager');
  const meter = meterOnly(OWNER, options);

  const scans = meter.createObservableCounter('scanbridge.scans', {
    description:
      "Engine runs by engine and outcome: the verdict (clean, infected, suspicious, error), fail_open for a breaker's stand-in, or the failure's kind (circuit_open, timeout, ...)",
    unit: '{scan}',
    valueType: ValueType.INT,
  });
  const decisions = meter.createObservableCounter('scanbridge.decisions', {
    description:
      'Policy decisions by action (allow, allow_with_warning, quarantine, block, require_review)',
    unit: '{decision}',
    valueType: ValueType.INT,
  });
  const bytes = meter.createObservableCounter('scanbridge.bytes_scanned', {
    description: "Bytes of the files scanned, each file's size once however many engines read it",
    unit: 'By',
    valueType: ValueType.INT,
  });
  const observables = [scans, decisions, bytes];
  const scanSets = new AttributeSets(['scanbridge.engine', 'scanbridge.outcome']);
  const actionSets = new AttributeSets(['scanbridge.action']);

  const observe: BatchObservableCallback = (result) => {
    const stats = manager.stats();
    for (const [engine, outcomes] of Object.entries(stats.engines)) {
      for (const verdict of VERDICTS) {
        result.observe(scans, outcomes[verdict] ?? 0, scanSets.get(engine, verdict));
      }
      for (const [outcome, count] of Object.entries(outcomes)) {
        if (count === undefined || VERDICTS.has(outcome)) continue;
        result.observe(scans, count, scanSets.get(engine, outcome));
      }
    }
    for (const [action, count] of Object.entries(stats.decisions)) {
      result.observe(decisions, count, actionSets.get(action));
    }
    result.observe(bytes, stats.bytesScanned);
  };

  const duration = secondsHistogram(
    meter,
    'scanbridge.scan.duration',
    "How long each engine's run took, by engine, on the manager's clock",
  );
  const engineSets = new AttributeSets(['scanbridge.engine']);
  const unsubscribe = manager.on('engineScan', ({ engine, durationMs }) => {
    duration.record(durationMs / 1000, engineSets.get(engine));
  });

  return observing(meter, observe, observables, [unsubscribe]);
}
