import type {
  PolicyActionType,
  PolicyScan,
  QuarantineRecord,
  ScanReport,
  Severity,
} from '@breakwater/scanbridge';

export interface ThreatView {
  readonly name: string;
  readonly engine: string;
  readonly severity: Severity;
}

export interface EngineView {
  readonly name: string;
  /** The engine's verdict (`clean`, `infected`, `suspicious`, `error`), `fail_open`, or `failed`. */
  readonly outcome: string;
  /** The failure's kind (`timeout`, `circuit_open`, ...) when the engine gave no verdict. */
  readonly error?: string;
}

/** What the scan endpoint says about one file. */
export interface FileVerdict {
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  readonly decision: PolicyActionType;
  readonly reason: string;
  readonly outcome: string;
  readonly threats: readonly ThreatView[];
  readonly engines: readonly EngineView[];
  readonly quarantineId?: string;
}

export function fileVerdict(filename: string, size: number, scan: PolicyScan): FileVerdict {
  const { report, decision, quarantineId } = scan;
  return {
    filename,
    size,
    sha256: report.fileHash.sha256,
    decision: decision.action.type,
    reason: decision.reason,
    outcome: report.aggregatedOutcome.type,
    threats: threatsOf(report),
    engines: enginesOf(report),
    ...(quarantineId === undefined ? {} : { quarantineId }),
  };
}

export function threatsOf(report: ScanReport): ThreatView[] {
  const outcome = report.aggregatedOutcome;
  if (outcome.type !== 'infected') return [];
  return outcome.threats.map(({ name, engine, severity }) => ({ name, engine, severity }));
}

export function enginesOf(report: ScanReport): EngineView[] {
  const views: EngineView[] = report.results.map((result) => ({
    name: result.engine,
    outcome: result.source === 'failopen' ? 'fail_open' : result.outcome.type,
  }));
  for (const failure of report.failures) {
    views.push({ name: failure.engine, outcome: 'failed', error: failure.error.kind });
  }
  return views;
}

/** A quarantine record as reviewers see it: the file, why it is held, what the engines said. */
export interface QuarantineView {
  readonly id: string;
  readonly filename?: string;
  readonly size: number;
  readonly sha256: string;
  readonly mimeType?: string;
  readonly reason: string;
  readonly quarantinedAt: string;
  readonly expiresAt: string;
  readonly outcome?: string;
  readonly threats: readonly ThreatView[];
  readonly engines: readonly EngineView[];
}

export function quarantineView(record: QuarantineRecord): QuarantineView {
  const { report } = record;
  return {
    id: record.id,
    ...(record.filename === undefined ? {} : { filename: record.filename }),
    size: record.size,
    sha256: record.sha256,
    ...(record.mimeType === undefined ? {} : { mimeType: record.mimeType }),
    reason: record.reason,
    quarantinedAt: new Date(record.quarantinedAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    ...(report === undefined ? {} : { outcome: report.aggregatedOutcome.type }),
    threats: report === undefined ? [] : threatsOf(report),
    engines: report === undefined ? [] : enginesOf(report),
  };
}
