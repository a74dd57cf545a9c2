import { readFile } from 'node:fs/promises';
import { type BreakerScanner, FallbackBehavior, withCircuitBreaker } from '../breaker-scanner.js';
import { type ScanError, toScanError } from '../errors.js';
import { FileInput } from '../input.js';
import { ScanManager } from '../manager.js';
import type { PolicyDecision } from '../policy/engine.js';
import { PolicyEngine } from '../policy/engine.js';
import { defaultPolicy } from '../policy/presets.js';
import type { ScanReport } from '../report.js';
import { configureEngines } from './engines.js';
import { type FoundFile, findFiles } from './files.js';
import type { Io } from './io.js';
import { type Output, Progress, table } from './render.js';
import { EXIT, type Flags, UsageError } from './usage.js';

/** One line of the report. */
export type FileRow =
  | { readonly path: string; readonly status: 'skipped'; readonly reason: string }
  | { readonly path: string; readonly status: 'error'; readonly error: ScanError }
  | {
      readonly path: string;
      readonly status: 'scanned';
      readonly report: ScanReport;
      readonly decision: PolicyDecision;
    };

const ALLOWED = new Set(['allow', 'allow_with_warning']);

/** `scanbridge scan`: every file through the engines and the policy; the exit code says how it went. */
export async function scanCommand(paths: readonly string[], flags: Flags, io: Io): Promise<number> {
  const policy = flags.policy === undefined ? defaultPolicy() : await loadPolicy(flags.policy);
  const engines = await configureEngines(flags, io.env);
  const files = await findFiles(paths);
  const failOpen = flags.failOpen === true;
  const guarded = engines.map((engine) =>
    withCircuitBreaker(engine.scanner, {
      failureThreshold: 3,
      openDuration: 30_000,
      // --fail-open covers a failed scan as well as a refused one: the run must not stop.
      fallback: failOpen ? FallbackBehavior.failOpen() : FallbackBehavior.failClosed(),
      fallbackOnFailure: failOpen,
    }),
  );
  // An upload's analysis may take VirusTotal minutes (maxPollTimeMs is 300 s): the manager's
  // per-engine limit must not cut it off first.
  const builder = ScanManager.builder()
    .withPolicyEngine(policy)
    .withConfig({ scanTimeoutMs: flags.virustotalUpload === true ? 330_000 : 60_000 });
  for (const scanner of guarded) builder.addScanner(scanner);
  const manager = builder.build();

  io.stderr.write(
    `scanbridge: ${plural(files.length, 'file')} with ${engines.map((e) => e.where).join(' and ')}\n`,
  );
  const progress = new Progress(io.stderr, files.length);
  const rows = await inPool(files, flags.concurrency, async (file) => {
    const row = await scanFile(manager, file);
    progress.step(row.path, verdictOf(row));
    return row;
  });
  progress.finish();
  const code = exitCode(rows);
  if (flags.json === true)
    io.stdout.write(`${JSON.stringify(asJson(rows, guarded, code), null, 2)}\n`);
  else writeTable(io.stdout, rows, guarded);
  return code;
}

async function loadPolicy(path: string): Promise<PolicyEngine> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--policy ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return PolicyEngine.fromJSON(text);
  } catch (error) {
    throw new UsageError(`--policy ${path}: ${(error as Error).message}`);
  }
}

async function scanFile(manager: ScanManager, file: FoundFile): Promise<FileRow> {
  const { path } = file;
  if (file.skipped !== undefined) return { path, status: 'skipped', reason: file.skipped };
  try {
    const { report, decision } = await manager.scanWithPolicy(FileInput.fromPath(path), {
      source: 'scanbridge-cli',
    });
    return { path, status: 'scanned', report, decision };
  } catch (error) {
    return { path, status: 'error', error: toScanError(error) };
  }
}

/** Runs `work` over `items`, at most `limit` at a time; results keep the items' order. */
async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

type RowClass = 'allowed' | 'flagged' | 'error' | 'skipped';

function classOf(row: FileRow): RowClass {
  if (row.status !== 'scanned') return row.status;
  return ALLOWED.has(row.decision.action.type) ? 'allowed' : 'flagged';
}

/**
 * An error outranks a flagged file: the run did not see everything it was asked to, and a
 * file another engine blocked still had an engine fail on it.
 */
function exitCode(rows: readonly FileRow[]): number {
  const engineFailed = rows.some(
    (row) => row.status === 'scanned' && row.report.failures.length > 0,
  );
  const classes = new Set(rows.map(classOf));
  if (engineFailed || classes.has('error')) return EXIT.error;
  return classes.has('flagged') ? EXIT.flagged : EXIT.allowed;
}

/** The aggregate, except that a "clean" some engine never checked is not called clean. */
function verdictOf(row: FileRow): string {
  if (row.status === 'skipped') return 'skipped';
  if (row.status === 'error') return 'error';
  const { type } = row.report.aggregatedOutcome;
  return type === 'clean' && failedOpen(row.report).length > 0 ? 'unscanned' : type;
}

/** Engines whose "verdict" is a fail-open stand-in. */
function failedOpen(report: ScanReport): string[] {
  return report.results.filter((r) => r.source === 'failopen').map((r) => r.engine);
}

function decisionOf(row: FileRow): string {
  if (row.status !== 'scanned') return '-';
  const { action, matchedRuleId } = row.decision;
  return matchedRuleId === undefined ? action.type : `${action.type} (${matchedRuleId})`;
}

/** What a person needs to see: the threats, who could not scan and why, or who vouched. */
function detailOf(row: FileRow): string {
  if (row.status === 'skipped') return row.reason;
  if (row.status === 'error') return `${row.error.kind}: ${row.error.message}`;
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

function writeTable(
  out: Output,
  rows: readonly FileRow[],
  breakers: readonly BreakerScanner[],
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
    `\n${plural(rows.length, 'file')}: ${tally.allowed} allowed, ${tally.flagged} flagged, ${tally.error} errors, ${tally.skipped} skipped\n`,
  );
  out.write(`breakers: ${breakers.map((b) => `${b.name} ${b.breaker.state().name}`).join(', ')}\n`);
}

function asJson(rows: readonly FileRow[], breakers: readonly BreakerScanner[], exitCode: number) {
  return {
    files: rows.map((row) => {
      if (row.status === 'skipped') return row;
      if (row.status === 'error') return { path: row.path, status: row.status, error: row.error };
      const { report, decision } = row;
      return {
        path: row.path,
        status: row.status,
        verdict: report.aggregatedOutcome,
        // Engines that did not scan the file: the verdict above stands in for theirs.
        failedOpen: failedOpen(report),
        decision,
        sha256: report.fileHash.sha256,
        engines: report.results.map((r) => ({
          engine: r.engine,
          outcome: r.outcome,
          ...(r.source === undefined ? {} : { source: r.source }),
        })),
        failures: report.failures.map((f) => ({ engine: f.engine, error: f.error })),
      };
    }),
    breakers: Object.fromEntries(breakers.map((b) => [b.name, b.breaker.state().name])),
    exitCode,
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
