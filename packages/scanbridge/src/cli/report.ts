import type { BreakerScanner } from '../breaker-scanner.js';
import { exitReason } from './exit-reason.js';
import { errorJson, inFlagTerms } from './flag-wording.js';
import { plural } from './plural.js';
import { type Output, table } from './render.js';
import { classOf, type FileRow, type RowClass, unscannedBy, verdictOf } from './rows.js';

/** The verdict table, a count of each kind of line, each breaker's state, and why the exit is not 0. */
export function writeTable(
  out: Output,
  rows: readonly FileRow[],
  breakers: readonly BreakerScanner[],
  exitCode: number,
): void {
  out.write(
    table(
      ['FILE', 'VERDICT', 'DECISION', 'DETAIL'],
      rows.map((row) => [row.path, verdictOf(row), decisionOf(row), detailOf(row)]),
    ),
  );
  const tally: Record<RowClass, number> = { allowed: 0, flagged: 0, error: 0, skipped: 0 };
  for (const row of rows) tally[classOf(row)]++;
  out.write(
    `\n${plural(rows.length, 'file')}: ${tally.allowed} allowed, ${tally.flagged} flagged, ${plural(tally.error, 'error')}, ${tally.skipped} skipped\n`,
  );
  out.write(`breakers: ${breakers.map((b) => `${b.name} ${b.breaker.state().name}`).join(', ')}\n`);
  const reason = exitReason(rows, exitCode);
  if (reason !== undefined) out.write(`${reason}\n`);
}

/** The same, as one JSON-safe document. */
export function asJson(
  rows: readonly FileRow[],
  breakers: readonly BreakerScanner[],
  exitCode: number,
) {
  return {
    files: rows.map((row) => {
      const common = {
        path: row.path,
        // The name itself, for a program to open: `path` is only its printable form.
        ...(row.pathBytes === undefined ? {} : { pathBytes: row.pathBytes.toString('base64') }),
        status: row.status,
        verdict: verdictOf(row),
      };
      if (row.status === 'skipped') {
        return { ...common, reason: row.reason, unchecked: row.unchecked };
      }
      if (row.status === 'error') return { ...common, error: errorJson(row.error) };
      const { report, decision } = row;
      return {
        ...common,
        outcome: report.aggregatedOutcome,
        unscannedBy: unscannedBy(report),
        decision,
        sha256: report.fileHash.sha256,
        engines: report.results.map((r) => ({
          engine: r.engine,
          outcome: r.outcome,
          ...(r.source === undefined ? {} : { source: r.source }),
        })),
        failures: report.failures.map((f) => ({ engine: f.engine, error: errorJson(f.error) })),
      };
    }),
    breakers: Object.fromEntries(breakers.map((b) => [b.name, b.breaker.state().name])),
    exitCode,
    ...(exitCode === 0 ? {} : { exitReason: exitReason(rows, exitCode) }),
  };
}

function decisionOf(row: FileRow): string {
  if (row.status !== 'scanned') return '-';
  const { action, matchedRuleId } = row.decision;
  return matchedRuleId === undefined ? action.type : `${action.type} (${matchedRuleId})`;
}

/** What a person needs to see: the threats, who could not scan and why, or who vouched. */
function detailOf(row: FileRow): string {
  if (row.status === 'skipped') return row.reason;
  if (row.status === 'error') return `${row.error.kind}: ${inFlagTerms(row.error.message)}`;
  const { report } = row;
  const parts: string[] = [];
  for (const result of report.results) {
    const { outcome, engine } = result;
    if (result.source === 'failopen') parts.push(`${engine}: not scanned (fail-open)`);
    else if (outcome.type === 'infected')
      parts.push(...outcome.threats.map((t) => `${t.name} (${t.engine})`));
    else if (outcome.type === 'suspicious') parts.push(`${engine}: suspicious, ${outcome.reason}`);
    else if (outcome.type === 'error') parts.push(`${engine}: could not judge the file`);
    else parts.push(`${engine}: clean`);
  }
  for (const failure of report.failures) parts.push(`${failure.engine}: ${failure.error.kind}`);
  return parts.join('; ');
}
