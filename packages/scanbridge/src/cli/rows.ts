import type { ScanError } from '../errors.js';
import type { PolicyDecision } from '../policy/engine.js';
import type { ScanReport } from '../report.js';
import type { SkipKind } from './files.js';
import { EXIT } from './usage.js';

/** How a row names its file. */
export interface RowName {
  /** As shown (display-path.ts): every name its own text. */
  readonly path: string;
  /** The name's bytes, when `path` is not the name itself (not UTF-8, or escaped). */
  readonly pathBytes?: Buffer | undefined;
}

/** One file's line in the report. */
export type FileRow = RowName &
  (
    | {
        readonly status: 'skipped';
        readonly kind: SkipKind;
        readonly reason: string;
        /** There was content, and nobody looked at it. */
        readonly unchecked: boolean;
      }
    | { readonly status: 'error'; readonly error: ScanError }
    | {
        readonly status: 'scanned';
        readonly report: ScanReport;
        readonly decision: PolicyDecision;
      }
  );

export type RowClass = 'allowed' | 'flagged' | 'error' | 'skipped';

const ALLOWED = new Set(['allow', 'allow_with_warning']);

/** Engines whose "verdict" is a fail-open stand-in: they did not look at the file. */
export function unscannedBy(report: ScanReport): string[] {
  return report.results.filter((r) => r.source === 'failopen').map((r) => r.engine);
}

/**
 * The aggregate outcome, except that "clean" is never said of a file some engine skipped:
 * `unscanned` when no engine looked at it, `partial` when only some did.
 */
export function verdictOf(row: FileRow): string {
  if (row.status !== 'scanned') return row.status;
  const { type } = row.report.aggregatedOutcome;
  const skipped = unscannedBy(row.report).length;
  if (skipped === 0 || type !== 'clean') return type;
  return skipped === row.report.results.length ? 'unscanned' : 'partial';
}

/** Allowed needs the policy's yes and at least one engine that looked; a policy can't allow unscanned files. */
export function classOf(row: FileRow): RowClass {
  if (row.status !== 'scanned') return row.status;
  const allowed = ALLOWED.has(row.decision.action.type) && verdictOf(row) !== 'unscanned';
  return allowed ? 'allowed' : 'flagged';
}

/**
 * 2 when the run is incomplete (an error, an engine that failed on a file another engine
 * blocked, or nothing scanned at all), 1 when a file is flagged or content went unchecked,
 * 0 when every file was scanned and allowed.
 */
export function exitCode(rows: readonly FileRow[]): number {
  const classes = new Set(rows.map(classOf));
  const engineFailed = rows.some((r) => r.status === 'scanned' && r.report.failures.length > 0);
  if (engineFailed || classes.has('error') || !rows.some((r) => r.status === 'scanned')) {
    return EXIT.error;
  }
  const unchecked = rows.some((r) => r.status === 'skipped' && r.unchecked);
  return classes.has('flagged') || unchecked ? EXIT.flagged : EXIT.allowed;
}
