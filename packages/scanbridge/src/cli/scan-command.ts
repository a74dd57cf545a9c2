import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { FallbackBehavior, withCircuitBreaker } from '../breaker-scanner.js';
import { toScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import { ScanManager } from '../manager.js';
import { PolicyEngine } from '../policy/engine.js';
import { defaultPolicy } from '../policy/presets.js';
import { displayPath, stringPath } from './display-path.js';
import { planEngines } from './engines.js';
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
  const connect = planEngines(flags, io.env);
  // Paths before the network: a mistyped one is said at once, not after waiting for engines.
  const files = await findFiles(paths, flags.timeout);
  const engines = await connect();
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
  const scanTimeoutMs = flags.virustotalUpload === true ? 330_000 : 60_000;
  const builder = ScanManager.builder()
    .withPolicyEngine(policy)
    .withConfig({ scanTimeoutMs, maxFileSize: flags.maxFileSize });
  for (const scanner of guarded) builder.addScanner(scanner);
  const manager = builder.build();

  io.stderr.write(
    `scanbridge: ${plural(files.length, 'file')} with ${engines.map((e) => e.where).join(' and ')}\n`,
  );
  const progress = new Progress(io.stderr, files.length);
  const rows = await inPool(files, flags.concurrency, async (file) => {
    const row = await scanFile(manager, file, scanTimeoutMs);
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

/** More than any policy needs: a bigger file is a mistake, not a policy. */
const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * The --policy file, read from one handle opened without blocking and checked to be a
 * regular file no larger than 1 MiB: a FIFO, `/dev/zero` or a runaway file is refused at
 * once, never waited on or read without end.
 */
async function loadPolicy(path: Buffer): Promise<PolicyEngine> {
  const shown = displayPath(path);
  const refuse = (why: string): never => {
    throw new UsageError(`--policy ${shown}: ${why}`);
  };
  let text: string;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!(await handle.stat()).isFile()) {
        refuse('not a regular file (a pipe or a device); write the policy to a file');
      }
      // One byte past the limit tells a file that is too large, whatever its stat said.
      const buffer = Buffer.alloc(MAX_POLICY_BYTES + 1);
      let bytesRead = 0;
      for (let n = -1; n !== 0 && bytesRead < buffer.length; bytesRead += n) {
        ({ bytesRead: n } = await handle.read(
          buffer,
          bytesRead,
          buffer.length - bytesRead,
          bytesRead,
        ));
      }
      if (bytesRead > MAX_POLICY_BYTES) refuse('larger than 1 MiB, which no policy needs');
      text = buffer.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return refuse(describeFsError(error));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return refuse(notJson(text, error as Error));
  }
  try {
    return PolicyEngine.fromJSON(value);
  } catch (error) {
    return refuse((error as Error).message);
  }
}

/**
 * Where the file is not JSON, without V8's own message: that quotes the file's first bytes,
 * and --policy may be given the wrong file, one holding a secret (`--policy .env`).
 */
function notJson(text: string, error: Error): string {
  const at = /\bat position (\d+)/.exec(error.message);
  if (at === null) return 'not valid JSON';
  const before = text.slice(0, Number(at[1])).split('\n');
  return `not valid JSON (at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

async function scanFile(manager: ScanManager, file: FoundFile, limitMs: number): Promise<FileRow> {
  const { shown: path, skipped, unreadable } = file;
  const name = { path, pathBytes: path === stringPath(file.path) ? undefined : file.path };
  if (skipped !== undefined)
    return { ...name, status: 'skipped', kind: skipped, ...SKIPS[skipped] };
  if (unreadable !== undefined) return { ...name, status: 'error', error: unreadable };
  let opened: OpenedInput | undefined;
  try {
    opened = await openInput(file, limitMs);
    const { report, decision } = await manager.scanWithPolicy(
      opened.input,
      { source: 'scanbridge-cli' },
      { signal: opened.signal },
    );
    return { ...name, status: 'scanned', report, decision };
  } catch (error) {
    // A file not read in time cancels its scan: the row says why, not just "cancelled".
    const reason = opened?.signal?.aborted === true ? opened.signal.reason : error;
    return { ...name, status: 'error', error: toScanError(reason) };
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
