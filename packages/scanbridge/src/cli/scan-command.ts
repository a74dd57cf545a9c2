import { readFile } from 'node:fs/promises';
import { FallbackBehavior, withCircuitBreaker } from '../breaker-scanner.js';
import { toScanError } from '../errors.js';
import { ScanManager } from '../manager.js';
import { PolicyEngine } from '../policy/engine.js';
import { defaultPolicy } from '../policy/presets.js';
import { displayPath, stringPath } from './display-path.js';
import { configureEngines } from './engines.js';
import { describeFsError } from './errno.js';
import { type FoundFile, findFiles, SKIPS } from './files.js';
import type { Io } from './io.js';
import { type OpenedInput, openInput } from './open-input.js';
import { plural } from './plural.js';
import { Progress } from './render.js';
import { asJson, writeTable } from './report.js';
import { exitCode, type FileRow, verdictOf } from './rows.js';
import type { Flags } from './usage.js';
import { UsageError } from './usage-error.js';

/** `scanbridge scan`: every file through the engines and the policy; the exit code says how it went. */
export async function scanCommand(paths: readonly Buffer[], flags: Flags, io: Io): Promise<number> {
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
  // An upload's analysis may take VirusTotal minutes (300 s of polling, plus up to 30 s for
  // each of four requests): the manager's per-engine limit must not cut it off first.
  // clamd keeps its own 60 s scan limit.
  const builder = ScanManager.builder()
    .withPolicyEngine(policy)
    .withConfig({
      scanTimeoutMs: flags.virustotalUpload === true ? 330_000 : 60_000,
      maxFileSize: flags.maxFileSize,
    });
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
  else writeTable(io.stdout, rows, guarded, code);
  return code;
}

async function loadPolicy(path: Buffer): Promise<PolicyEngine> {
  const shown = displayPath(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--policy ${shown}: ${describeFsError(error)}`);
  }
  try {
    return PolicyEngine.fromJSON(text);
  } catch (error) {
    throw new UsageError(`--policy ${shown}: ${(error as Error).message}`);
  }
}

async function scanFile(manager: ScanManager, file: FoundFile): Promise<FileRow> {
  const { shown: path, skipped, unreadable } = file;
  const name = { path, pathBytes: path === stringPath(file.path) ? undefined : file.path };
  if (skipped !== undefined)
    return { ...name, status: 'skipped', kind: skipped, ...SKIPS[skipped] };
  if (unreadable !== undefined) return { ...name, status: 'error', error: unreadable };
  let opened: OpenedInput | undefined;
  try {
    opened = await openInput(file);
    const { report, decision } = await manager.scanWithPolicy(opened.input, {
      source: 'scanbridge-cli',
    });
    return { ...name, status: 'scanned', report, decision };
  } catch (error) {
    return { ...name, status: 'error', error: toScanError(error) };
  } finally {
    await opened?.close();
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
