import { randomUUID } from 'node:crypto';
import type { Clock, Logger } from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import { aggregateOutcomes } from './aggregate.js';
import { Audit } from './audit.js';
import { scanWithin } from './breaker-scanner.js';
import { checkResult } from './check-result.js';
import { ScanError, type ScanErrorKind, type ScanFailure, toScanError } from './errors.js';
import type { FileInput } from './input.js';
import { type ManagerConfig, resolveConfig, type Settings } from './manager-config.js';
import { readMetadata } from './metadata.js';
import type { PolicyDecision, PolicyEngine } from './policy/engine.js';
import { defaultPolicy } from './policy/presets.js';
import { type Prepared, prepareInput } from './prepare.js';
import type { FilesystemQuarantine } from './quarantine.js';
import type { ScanReport } from './report.js';
import type { FileMetadata, ScanContext, ScanOutcome, ScanResult } from './result.js';
import {
  type EngineOutcome,
  SCAN_EVENTS,
  ScanCounters,
  type ScanEventName,
  type ScanListener,
  type ScanStats,
} from './scan-stats.js';
import type { Scanner } from './scanner.js';
import { engineTimeout, withTimeout } from './timeout.js';

export interface ScanCallOptions {
  /** Cancels the whole scan: every engine's read stops and the scan rejects with `cancelled`. */
  signal?: AbortSignal | undefined;
}

export interface PolicyScan {
  readonly report: ScanReport;
  readonly decision: PolicyDecision;
  /** Set when the decision was `quarantine` and the file is now in the quarantine. */
  readonly quarantineId?: string;
}

/**
 * A result comes with the metadata of what its engine read, as the manager measured it; either
 * comes with how long the engine took, for the `engineScan` event.
 */
type EngineRun =
  | {
      readonly result: ScanResult;
      readonly metadata: FileMetadata;
      readonly engine: string;
      readonly durationMs: number;
    }
  | { readonly failure: ScanFailure; readonly durationMs: number };

/**
 * Runs a file through every engine (or, in `first-success` mode, through engines in turn
 * until one answers), aggregates their verdicts and applies a policy.
 */
export class ScanManager {
  private readonly scanners: readonly Scanner[];
  private readonly names: readonly string[];
  private readonly policy: PolicyEngine;
  private readonly quarantine: FilesystemQuarantine | undefined;
  private readonly settings: Settings;
  private readonly audit: Audit;
  private readonly counters: ScanCounters;

  /** @internal Use `ScanManager.builder()`. */
  constructor(parts: {
    scanners: readonly Scanner[];
    policy: PolicyEngine;
    quarantine: FilesystemQuarantine | undefined;
    settings: Settings;
    logger: Logger | undefined;
  }) {
    this.scanners = parts.scanners;
    this.names = parts.scanners.map((s) => s.name);
    this.policy = parts.policy;
    this.quarantine = parts.quarantine;
    this.settings = parts.settings;
    this.audit = new Audit(parts.logger);
    this.counters = new ScanCounters(this.names, parts.logger);
  }

  static builder(): ScanManagerBuilder {
    return new ScanManagerBuilder();
  }

  /** The engines, in the order they were added. */
  get engines(): readonly Scanner[] {
    return this.scanners;
  }

  /** Counts since the manager was built: engine runs by outcome, decisions, bytes, scans. */
  stats(): ScanStats {
    return this.counters.snapshot();
  }

  /**
   * Subscribes to `engineScan` (each engine's run, once its scan has settled it) or `decision`
   * (each policy decision); returns the function that unsubscribes. A listener that throws is
   * reported to the audit logger (or as a process warning without one), and the scan goes on.
   */
  on<E extends ScanEventName>(event: E, listener: ScanListener<E>): () => void {
    if (!SCAN_EVENTS.has(event)) {
      throw new TypeError(
        `ScanManager.on(event): takes "engineScan" or "decision", got ${describeValue(event)}`,
      );
    }
    if (typeof listener !== 'function') {
      throw new TypeError(
        `ScanManager.on("${event}", listener): needs a function, got ${describeValue(listener)}`,
      );
    }
    return this.counters.on(event, listener);
  }

  /** Scans with every engine; throws a ScanError carrying every cause when no engine answered. */
  async scan(
    input: FileInput,
    context: ScanContext = {},
    options: ScanCallOptions = {},
  ): Promise<ScanReport> {
    const scan = await this.prepare(input, context, options);
    try {
      return await this.run(scan, context, options.signal);
    } finally {
      await scan.prepared.close();
    }
  }

  /** Scans, decides, and quarantines the file when the decision says so. */
  async scanWithPolicy(
    input: FileInput,
    context: ScanContext = {},
    options: ScanCallOptions = {},
  ): Promise<PolicyScan> {
    const scan = await this.prepare(input, context, options);
    try {
      const report = await this.run(scan, context, options.signal);
      const decision = this.policy.evaluate(report, context);
      this.audit.policyDecision(report, decision);
      this.counters.decided(decision.action.type);
      // Without a quarantine store, a quarantine decision still tells the caller to hold the file back.
      if (decision.action.type !== 'quarantine' || this.quarantine === undefined)
        return { report, decision };
      const reason = decision.action.reason ?? decision.reason;
      const record = await this.quarantine
        .store(scan.prepared.input, { reason, report })
        .catch((error: unknown) => {
          // The scan produced a report (completed), and the caller still gets a ScanError: failed too.
          this.counters.scanFailed();
          throw new ScanError(
            'io',
            `The policy said quarantine, but the file could not be quarantined: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        });
      this.audit.quarantined(report, record.id, reason);
      return { report, decision, quarantineId: record.id };
    } finally {
      await scan.prepared.close();
    }
  }

  private async prepare(
    input: FileInput,
    context: ScanContext,
    options: ScanCallOptions,
  ): Promise<Preparation> {
    const { clock, maxFileSize, hashes, spoolDir, scanTimeoutMs, memoryBudget } = this.settings;
    const id = randomUUID();
    const requestedAt = clock.now();
    this.audit.scanStarted(id, input.filename, context, this.names);
    let preparing: Promise<Prepared> | undefined;
    try {
      // A file on disk is read within the scan's time limit: one that cannot be (a stuck disk,
      // a mount that hangs) ends the scan with a timeout instead of holding it forever. A
      // stream goes at its sender's pace, which the caller bounds with its signal.
      const prepared = await withTimeout(
        clock,
        input.kind === 'stream' ? undefined : scanTimeoutMs,
        options.signal,
        (ms) => preparationTimeout(input, ms),
        (signal) => {
          preparing = prepareInput(input, {
            maxBytes: maxFileSize,
            hashes,
            signal,
            spoolDir,
            memoryBudget,
          });
          return preparing;
        },
      );
      return { id, requestedAt, prepared };
    } catch (error) {
      // A preparation that finishes after its time ran out holds a file nobody will close.
      preparing?.then(
        (late) => late.close(),
        () => {},
      );
      throw this.failed(id, context, error, options.signal, []);
    }
  }

  private async run(
    scan: Preparation,
    context: ScanContext,
    signal: AbortSignal | undefined,
  ): Promise<ScanReport> {
    const { clock, mode } = this.settings;
    const { id, requestedAt, prepared } = scan;
    const runs = await (mode === 'first-success'
      ? this.firstSuccess(prepared, context, signal)
      : this.all(prepared, context, signal));
    // Counted as the report shows them (a stand-in bypassed, another file read), even cancelled.
    const checked = sameFile(runs);
    this.countRuns(checked);
    if (signal?.aborted === true) throw this.failed(id, context, undefined, signal, []);
    const results = checked.flatMap((run) => ('result' in run ? [run.result] : []));
    const failures = checked.flatMap((run) => ('failure' in run ? [run.failure] : []));
    const metadata = checked.find((run) => 'metadata' in run)?.metadata;
    if (metadata === undefined)
      throw this.failed(id, context, allFailed(failures), signal, failures);
    // In first-success mode the engines tried before the one that answered are reported,
    // but the answer stands; in `all` mode every engine must vouch for the file.
    const counted: ScanOutcome[] = results.map((r) => r.outcome);
    if (mode === 'all')
      for (const f of failures) counted.push({ type: 'error', recoverable: f.error.recoverable });
    const completedAt = clock.now();
    const report: ScanReport = {
      id,
      results,
      aggregatedOutcome: aggregateOutcomes(counted),
      fileHash: metadata.hash,
      fileMetadata: metadata,
      requestedAt,
      completedAt,
      totalDurationMs: completedAt - requestedAt,
      context,
      failures,
    };
    this.audit.scanCompleted(report);
    this.counters.scanCompleted(metadata.size);
    return report;
  }

  /** Runs are in the order of the engines (first-success stops early), so position names each. */
  private countRuns(runs: readonly EngineRun[]): void {
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i] as EngineRun;
      this.counters.engineRan(i, outcomeOf(run), run.durationMs);
    }
  }

  /** A scan that ended without a verdict: audited, and `cancelled` if the caller cancelled. */
  private failed(
    id: string,
    context: ScanContext,
    error: unknown,
    signal: AbortSignal | undefined,
    failures: readonly ScanFailure[],
  ): ScanError {
    const scanError = signal?.aborted === true ? cancelled(signal) : toScanError(error);
    this.audit.scanFailed(id, context, scanError.kind, failures);
    this.counters.scanFailed();
    return scanError;
  }

  private async all(
    prepared: Prepared,
    context: ScanContext,
    signal: AbortSignal | undefined,
  ): Promise<EngineRun[]> {
    const runs: EngineRun[] = new Array(this.scanners.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.scanners.length) {
        const index = next++;
        runs[index] = await this.runEngine(
          this.scanners[index] as Scanner,
          prepared,
          context,
          signal,
        );
      }
    };
    const workers = Math.min(this.settings.maxParallel, this.scanners.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return runs;
  }

  /**
   * Engines in turn until one really answers. A fail-open stand-in is not an answer: the next
   * engine is asked, and if one answers, the stand-in is reported as the bypass it was.
   */
  private async firstSuccess(
    prepared: Prepared,
    context: ScanContext,
    signal: AbortSignal | undefined,
  ): Promise<EngineRun[]> {
    const runs: EngineRun[] = [];
    for (const scanner of this.scanners) {
      const run = await this.runEngine(scanner, prepared, context, signal);
      runs.push(run);
      if ('result' in run && run.result.source !== 'failopen') {
        return runs.map((r) =>
          'result' in r && r !== run
            ? { failure: bypassed(r.result), durationMs: r.durationMs }
            : r,
        );
      }
      if (signal?.aborted === true) break;
    }
    return runs;
  }

  private async runEngine(
    scanner: Scanner,
    prepared: Prepared,
    context: ScanContext,
    signal: AbortSignal | undefined,
  ): Promise<EngineRun> {
    const { scanTimeoutMs, hashes, clock } = this.settings;
    const startedAt = clock.now();
    try {
      const options = { context, hashes, signal, timeoutMs: scanTimeoutMs };
      const given = prepared.forEngine();
      const result = await scanWithin(scanner, given.input, options, clock);
      // An engine that did not read the file through its input (it scanned by path) is held
      // to the file as it is now, read here within the same limit.
      const metadata =
        given.metadata() ??
        (await withTimeout(clock, scanTimeoutMs, signal, engineTimeout(scanner.name), (s) =>
          readMetadata(given.input, { hashes, signal: s }),
        ));
      return {
        result: checkResult(result, scanner.name, metadata),
        metadata,
        engine: scanner.name,
        durationMs: elapsed(clock, startedAt),
      };
    } catch (error) {
      return {
        failure: { engine: scanner.name, error: toScanError(error, scanner.name) },
        durationMs: elapsed(clock, startedAt),
      };
    }
  }
}

interface Preparation {
  readonly id: string;
  readonly requestedAt: number;
  readonly prepared: Prepared;
}

/**
 * Engines that read the file themselves may have read different bytes (it changed during the
 * scan): the first engine's file is the report's, and a verdict on other bytes is no verdict.
 */
function sameFile(runs: readonly EngineRun[]): readonly EngineRun[] {
  const first = runs.find((run) => 'metadata' in run);
  if (first === undefined || !('metadata' in first)) return runs;
  const expected = first.metadata.hash.sha256;
  return runs.map((run) => {
    if (!('metadata' in run) || run.metadata.hash.sha256 === expected) return run;
    const { engine } = run;
    const error = new ScanError(
      'ambiguous_response',
      `${engine}: unusable result: it read other content than ${first.engine} did (sha256 ${run.metadata.hash.sha256}, not ${expected}); the file changed during the scan`,
      { engine },
    );
    return { failure: { engine, error }, durationMs: run.durationMs };
  });
}

function outcomeOf(run: EngineRun): EngineOutcome {
  if ('failure' in run) return run.failure.error.kind;
  return run.result.source === 'failopen' ? 'fail_open' : run.result.outcome.type;
}

/** Ms since `startedAt`; never negative, though the wall clock may step back (NTP) meanwhile. */
function elapsed(clock: Clock, startedAt: number): number {
  return Math.max(0, clock.now() - startedAt);
}

function preparationTimeout(input: FileInput, ms: number): ScanError {
  const what = input.path ?? input.filename ?? 'the input';
  return new ScanError(
    'timeout',
    `Reading ${what} before scanning timed out after ${ms} ms (the scan's time limit, scanTimeoutMs)`,
  );
}

function bypassed(result: ScanResult): ScanFailure {
  const engine = result.engine.replace(/-failopen$/, '');
  return {
    engine,
    error: new ScanError(
      'circuit_open',
      `${engine}: bypassed by its open circuit breaker; a later engine answered`,
      { engine },
    ),
  };
}

function cancelled(signal: AbortSignal): ScanError {
  return new ScanError('cancelled', 'The scan was cancelled', { cause: signal.reason });
}

/** No engine answered: one error carrying every engine's. */
function allFailed(failures: readonly ScanFailure[]): ScanError {
  // One kind says it all; otherwise a failure that retrying cannot fix names the whole.
  const kinds = new Set(failures.map((f) => f.error.kind));
  const [only] = kinds;
  const lasting = failures.find((f) => !f.error.recoverable)?.error.kind;
  const kind: ScanErrorKind =
    kinds.size === 1 && only !== undefined ? only : (lasting ?? 'engine_unavailable');
  const causes = failures
    .map((f) => `${f.engine}: ${f.error.kind} (${f.error.message})`)
    .join('; ');
  return new ScanError(kind, `No engine could scan the file: ${causes}`, {
    failures,
    cause: new AggregateError(
      failures.map((f) => f.error),
      'every engine failed',
    ),
  });
}

export class ScanManagerBuilder {
  private readonly scanners: Scanner[] = [];
  private policy: PolicyEngine | undefined;
  private quarantine: FilesystemQuarantine | undefined;
  private config: ManagerConfig = {};
  private logger: Logger | undefined;

  addScanner(scanner: Scanner): this {
    if (
      typeof (scanner as Partial<Scanner> | null)?.scan !== 'function' ||
      typeof scanner.name !== 'string'
    ) {
      throw new TypeError(
        `ScanManager.addScanner: expected a Scanner, got ${describeValue(scanner)}`,
      );
    }
    if (this.scanners.some((s) => s.name === scanner.name)) {
      throw new TypeError(
        `ScanManager.addScanner: a scanner named "${scanner.name}" was already added; names must be unique so results and failures say which engine they are`,
      );
    }
    this.scanners.push(scanner);
    return this;
  }

  /** Default `defaultPolicy()`: there is no "no policy", so nothing is allowed by accident. */
  withPolicyEngine(policy: PolicyEngine): this {
    this.policy = policy;
    return this;
  }

  withQuarantine(quarantine: FilesystemQuarantine): this {
    this.quarantine = quarantine;
    return this;
  }

  withConfig(config: ManagerConfig): this {
    this.config = config;
    return this;
  }

  /** Audit events (`scan_started`, `scan_completed`, `policy_decision`, `quarantine`) go here. */
  withAuditLogger(logger: Logger): this {
    this.logger = logger;
    return this;
  }

  build(): ScanManager {
    if (this.scanners.length === 0) {
      throw new TypeError(
        'ScanManager.build: add at least one scanner; with none, nothing would vouch for a file',
      );
    }
    return new ScanManager({
      scanners: [...this.scanners],
      policy: this.policy ?? defaultPolicy(),
      quarantine: this.quarantine,
      settings: resolveConfig(this.config, this.scanners.length),
      logger: this.logger,
    });
  }
}
