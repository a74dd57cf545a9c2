import type { PolicyActionType } from '../policy/action.js';
import type { SkipKind } from './files.js';
import { plural } from './plural.js';
import { classOf, type FileRow, verdictOf } from './rows.js';

// What the policy decided, not what was done: the command line moves no file.
const DONE_TO: Readonly<Record<PolicyActionType, string>> = {
  allow: 'allowed',
  allow_with_warning: 'allowed with a warning',
  block: 'blocked',
  quarantine: 'to quarantine (not moved)',
  require_review: 'sent to review',
};

/**
 * Why a run did not exit 0, in words: `exit 1: 4 directory links skipped, not scanned`, so a
 * non-zero status never has to be worked out from the table. Undefined for exit 0.
 */
export function exitReason(rows: readonly FileRow[], code: number): string | undefined {
  if (code === 0) return undefined;
  const reasons: string[] = [];
  const count = (test: (row: FileRow) => boolean): number => rows.filter(test).length;
  const errors = count((r) => r.status === 'error');
  if (errors > 0) reasons.push(`${plural(errors, 'file')} could not be scanned`);
  const engineFailed = count((r) => r.status === 'scanned' && r.report.failures.length > 0);
  if (engineFailed > 0) reasons.push(`an engine failed on ${plural(engineFailed, 'file')}`);
  if (!rows.some((r) => r.status === 'scanned')) reasons.push('nothing was scanned');
  const unscanned = count((r) => verdictOf(r) === 'unscanned');
  if (unscanned > 0) {
    reasons.push(`${plural(unscanned, 'file')} not scanned by any engine (failed open)`);
  }
  const done = new Map<string, number>();
  for (const row of rows) {
    if (row.status !== 'scanned' || classOf(row) !== 'flagged' || verdictOf(row) === 'unscanned')
      continue;
    const what = DONE_TO[row.decision.action.type];
    done.set(what, (done.get(what) ?? 0) + 1);
  }
  for (const [what, n] of done) reasons.push(`${plural(n, 'file')} ${what}`);
  const skipped = new Map<SkipKind, number>();
  for (const row of rows) {
    if (row.status === 'skipped' && row.unchecked) {
      skipped.set(row.kind, (skipped.get(row.kind) ?? 0) + 1);
    }
  }
  for (const [kind, n] of skipped) reasons.push(`${plural(n, kind)} skipped, not scanned`);
  return `exit ${code}: ${reasons.join('; ')}`;
}
