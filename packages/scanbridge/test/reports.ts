import type { ScanReport } from '../src/report.js';
import type { ScanContext, ScanOutcome, ScanResult, ThreatInfo } from '../src/result.js';

export interface ReportShape {
  outcome?: ScanOutcome;
  filename?: string;
  mimeType?: string;
  size?: number;
  context?: ScanContext;
  results?: Array<Partial<ScanResult>>;
}

/** A report as a ScanManager would make it, for policy tests. */
export function report(shape: ReportShape = {}): ScanReport {
  const fileMetadata = {
    ...(shape.filename === undefined ? {} : { filename: shape.filename }),
    ...(shape.mimeType === undefined ? {} : { mimeType: shape.mimeType }),
    size: shape.size ?? 1_000,
    hash: { sha256: 'a'.repeat(64) },
  };
  const outcome = shape.outcome ?? { type: 'clean' };
  const results = (shape.results ?? [{}]).map(
    (r, i): ScanResult => ({
      id: `result-${i}`,
      outcome,
      fileMetadata,
      engine: 'mock',
      startedAt: 0,
      completedAt: 1,
      durationMs: 1,
      context: shape.context ?? {},
      cached: false,
      details: {},
      ...r,
    }),
  );
  return {
    id: 'report-1',
    results,
    aggregatedOutcome: outcome,
    fileHash: fileMetadata.hash,
    fileMetadata,
    requestedAt: 0,
    completedAt: 1,
    totalDurationMs: 1,
    context: shape.context ?? {},
    failures: [],
  };
}

export function infected(...threats: Array<Pick<ThreatInfo, 'name' | 'severity'>>): ScanOutcome {
  return { type: 'infected', threats: threats.map((t) => ({ ...t, engine: 'mock' })) };
}
