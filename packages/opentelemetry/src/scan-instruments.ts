import type { ScanManager } from '@breakwater/scanbridge';
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

/** What the instruments read of a ScanManager: its counters and its `engineScan` event. */
export type ScanSource = Pick<ScanManager, 'stats' | 'on'>;

export type InstrumentScansOptions = MeterOptions;

const OWNER = 'instrumentScans';

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
      for (const [outcome, count] of Object.entries(outcomes)) {
        if (count !== undefined) result.observe(scans, count, scanSets.get(engine, outcome));
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
