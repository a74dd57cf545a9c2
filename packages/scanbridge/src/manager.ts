import { randomUUID } from 'node:crypto';
import type { Logger } from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import { aggregateOutcomes } from './aggregate.js';
import { Audit } from './audit.js';
import { isBreakerScanner } from './breaker-scanner.js';
import { ScanError, type ScanErrorKind, type ScanFailure, toScanError } from './errors.js';
import type { FileInput } from './input.js';
import { type ManagerConfig, resolveConfig, type Settings } from './manager-config.js';
import type { PolicyDecision, PolicyEngine } from './policy/engine.js';
import { defaultPolicy } from './policy/presets.js';
import { type Prepared, prepareInput } from './prepare.js';
import type { FilesystemQuarantine } from './quarantine.js';
import type { ScanReport } from './report.js';
import type { FileMetadata, ScanContext, ScanOutcome, ScanResult } from './result.js';
import type { Scanner } from './scanner.js';
import { withTimeout } from './timeout.js';

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

type EngineRun = { readonly result: ScanResult } | { readonly failure: ScanFailure };

/**
 * Runs a file through every engine (or, in `first-success` mode, through engines in turn
 * until one answers), aggregates their verdicts and applies a policy.
 */
export class ScanManager {
  private readonly scanners: readonly Scanner[];
  private readonly policy: PolicyEngine;
  private readonly quarantine: FilesystemQuarantine | undefined;
  private readonly settings: Settings;
  private readonly audit: Audit;

  /** @internal Use `ScanManager.builder()`. */
  constructor(parts: {
    scanners: readonly Scanner[];
    policy: PolicyEngine;
    quarantine: FilesystemQuarantine | undefined;
    settings: Settings;
    logger: Logger | undefined;
  }) {
    this.scanners = parts.scanners;
    this.policy = parts.policy;
    this.quarantine = parts.quarantine;
    this.settings = parts.settings;
    this.audit = new Audit(parts.logger);
  }

  static builder(): ScanManagerBuilder {
    return new ScanManagerBuilder();
  }

  /** The engines, in the order they were added. */
  get engines(): readonly Scanner[] {
    return this.scanners;
  }

  /** Scans with every engine; throws a ScanError carrying every cause when no engine answered. */
  async scan(
    input: FileInput,
    context: ScanContext = {},
    options: ScanCallOptions = {},
  ): Promise<ScanReport> {
    const prepared = await this.prepare(input, context, options, undefined);
    try {
      return await this.run(prepared, context, options);
    } finally {
      await prepared.close();
    }
  }

  /** Scans, decides, and quarantines the file when the decision says so. */
  async scanWithPolicy(
    input: FileInput,
    context: ScanContext = {},
    options: ScanCallOptions = {},
  ): Promise<PolicyScan> {
    const prepared = await this.prepare(input, context, options, this.quarantine);
    try {
      const report = await this.run(prepared, context, options);
      const decision = this.policy.evaluate(report, context);
      this.audit.policyDecision(report, decision);
      // Without a quarantine store, a quarantine decision still tells the caller to hold the file back.
      if (decision.action.type !== 'quarantine' || prepared.keep === undefined)
        return { report, decision };
      const reason = decision.action.reason ?? decision.reason;
      const record = await prepared.keep.commit({ reason, report });
      this.audit.quarantined(report, record.id, reason);
      return { report, decision, quarantineId: record.id };
    } finally {
      await prepared.close();
    }
  }

  private async prepare(
    input: FileInput,
    context: ScanContext,
    options: ScanCallOptions,
    quarantine: FilesystemQuarantine | undefined,
  ): Promise<Prepared & { id: string; requestedAt: number }> {
    const { clock, mode, maxParallel, maxFileSize, hashes, spoolDir } = this.settings;
    const id = randomUUID();
    const requestedAt = clock.now();
    this.audit.scanStarted(
      id,
      input.filename,
      context,
      this.scanners.map((s) => s.name),
    );
    try {
      const prepared = await prepareInput(input, {
        readers: this.scanners.length,
        replay: mode === 'first-success' || maxParallel < this.scanners.length,
        maxBytes: maxFileSize,
        hashes,
        signal: options.signal,
        spoolDir,
        quarantine,
      });
      return Object.assign(prepared, { id, requestedAt });
    } catch (error) {
      throw this.failed(id, context, error, options.signal);
    }
  }

  private async run(
    prepared: Prepared & { id: string; requestedAt: number },
    context: ScanContext,
    options: ScanCallOptions,
  ): Promise<ScanReport> {
    const { clock, mode } = this.settings;
    const { id, requestedAt } = prepared;
    let runs: EngineRun[];
    let fileMetadata: FileMetadata;
    try {
      runs = await (mode === 'first-success'
        ? this.firstSuccess(prepared.inputs, context, options.signal)
        : this.all(prepared.inputs, context, options.signal, prepared.release));
      // The input's own failure (too large, a stream that broke) outranks what engines made of it.
      fileMetadata = await prepared.finish();
    } catch (error) {
      throw this.failed(id, context, error, options.signal);
    }
    const results = runs.flatMap((run) => ('result' in run ? [run.result] : []));
    const failures = runs.flatMap((run) => ('failure' in run ? [run.failure] : []));
    if (results.length === 0) {
      const error = allFailed(failures);
      this.audit.scanFailed(id, context, error.kind, failures);
      throw error;
    }
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
      fileHash: fileMetadata.hash,
      fileMetadata,
      requestedAt,
      completedAt,
      totalDurationMs: completedAt - requestedAt,
      context,
      failures,
    };
    this.audit.scanCompleted(report);
    return report;
  }

  /** A scan that failed before any verdict: audited, and cancelled if the caller cancelled. */
  private failed(
    id: string,
    context: ScanContext,
    error: unknown,
    signal: AbortSignal | undefined,
  ): ScanError {
    const scanError = signal?.aborted === true ? cancelled(signal) : toScanError(error);
    this.audit.scanFailed(id, context, scanError.kind, []);
    return scanError;
  }

  private async all(
    inputs: readonly FileInput[],
    context: ScanContext,
    signal: AbortSignal | undefined,
    release: (index: number) => void,
  ): Promise<EngineRun[]> {
    const runs: EngineRun[] = new Array(this.scanners.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.scanners.length) {
        const index = next++;
        try {
          runs[index] = await this.runEngine(index, inputs[index] as FileInput, context, signal);
        } finally {
          release(index);
        }
      }
    };
    const workers = Math.min(this.settings.maxParallel, this.scanners.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return runs;
  }

  private async firstSuccess(
    inputs: readonly FileInput[],
    context: ScanContext,
    signal: AbortSignal | undefined,
  ): Promise<EngineRun[]> {
    const runs: EngineRun[] = [];
    for (const [index, input] of inputs.entries()) {
      const run = await this.runEngine(index, input, context, signal);
      runs.push(run);
      if ('result' in run) break;
    }
    return runs;
  }

  private async runEngine(
    index: number,
    input: FileInput,
    context: ScanContext,
    signal: AbortSignal | undefined,
  ): Promise<EngineRun> {
    const scanner = this.scanners[index] as Scanner;
    const { scanTimeoutMs, hashes, clock } = this.settings;
    try {
      const options = { context, hashes };
      // A breaker-wrapped engine applies the limit inside its breaker, where a timeout counts.
      const result = isBreakerScanner(scanner)
        ? await scanner.scan(input, { ...options, signal, timeoutMs: scanTimeoutMs })
        : await withTimeout(clock, scanTimeoutMs, signal, scanner.name, (scanSignal) =>
            scanner.scan(input, { ...options, signal: scanSignal }),
          );
      return { result };
    } catch (error) {
      if (signal?.aborted === true) throw cancelled(signal);
      return { failure: { engine: scanner.name, error: toScanError(error, scanner.name) } };
    }
  }
}

function cancelled(signal: AbortSignal): ScanError {
  return new ScanError('cancelled', 'The scan was cancelled', { cause: signal.reason });
}

/** No engine answered: one error carrying every engine's. */
function allFailed(failures: readonly ScanFailure[]): ScanError {
  const kinds = new Set(failures.map((f) => f.error.kind));
  const [only] = kinds;
  const kind: ScanErrorKind = kinds.size === 1 && only !== undefined ? only : 'engine_unavailable';
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
