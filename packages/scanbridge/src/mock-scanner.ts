import { type Clock, systemClock } from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import { ScanError } from './errors.js';
import type { FileInput } from './input.js';
import { MeteredRead } from './metadata.js';
import type { ScanOutcome, ScanResult, Severity, ThreatInfo } from './result.js';
import { type Scanner, type ScanOptions, scanResult } from './scanner.js';
import { sleep } from './sleep.js';

/** A threat for `MockScanner.infected`; the engine defaults to the scanner's name. */
export type MockThreat = string | (Omit<ThreatInfo, 'engine'> & { engine?: string });

interface MockSettings {
  readonly name: string;
  readonly outcome: ScanOutcome;
  readonly latencyMs: number;
  readonly failRate: number;
  readonly responses: ReadonlyMap<string, ScanOutcome>;
  readonly maxFileSize: number | undefined;
  readonly clock: Clock;
}

/**
 * An engine for tests and demos. It really reads and hashes every byte it is given, so
 * streams, limits and `withResponse(sha256, ...)` behave as they would with a real engine.
 */
export class MockScanner implements Scanner {
  private readonly settings: MockSettings;
  private healthy = true;
  private scans = 0;

  private constructor(settings: MockSettings) {
    this.settings = settings;
  }

  /** Says every file is clean. */
  static clean(): MockScanner {
    return new MockScanner({
      name: 'mock',
      outcome: { type: 'clean' },
      latencyMs: 0,
      failRate: 0,
      responses: new Map(),
      maxFileSize: undefined,
      clock: systemClock,
    });
  }

  /** Says every file carries these threats (a bare name is a `high` threat). */
  static infected(threats: readonly MockThreat[]): MockScanner {
    if (!Array.isArray(threats) || threats.length === 0) {
      throw new TypeError(
        `MockScanner.infected: give at least one threat, got ${describeValue(threats)}`,
      );
    }
    const clean = MockScanner.clean();
    return clean.with({
      outcome: { type: 'infected', threats: threats.map((t) => threatOf(t, 'mock')) },
    });
  }

  get name(): string {
    return this.settings.name;
  }

  get maxFileSize(): number | undefined {
    return this.settings.maxFileSize;
  }

  /** Calls to `scan()`, including those that failed. */
  get scanCount(): number {
    return this.scans;
  }

  withName(name: string): MockScanner {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(
        `MockScanner.withName: name must be a non-empty string, got ${describeValue(name)}`,
      );
    }
    const { outcome } = this.settings;
    // Threats name their engine: a renamed scanner reports them under its new name.
    const renamed: ScanOutcome =
      outcome.type === 'infected'
        ? { type: 'infected', threats: outcome.threats.map((t) => ({ ...t, engine: name })) }
        : outcome;
    return this.with({ name, outcome: renamed });
  }

  /** Every scan takes this long (on the clock given to `withClock`), abortably. */
  withLatency(ms: number): MockScanner {
    return this.with({ latencyMs: nonNegative('withLatency', ms) });
  }

  /**
   * This fraction of scans fails with `connection_failed`, in a fixed pattern
   * (0.5: every second scan; 0.25: every fourth), so tests never flake.
   */
  withFailRate(rate: number): MockScanner {
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw new RangeError(
        `MockScanner.withFailRate: rate must be between 0 and 1, got ${describeValue(rate)}`,
      );
    }
    return this.with({ failRate: rate });
  }

  /** Files with this sha256 (hex) get this outcome instead of the default one. */
  withResponse(sha256: string, outcome: ScanOutcome): MockScanner {
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256)) {
      throw new TypeError(
        `MockScanner.withResponse: sha256 must be 64 hex digits, got ${describeValue(sha256)}`,
      );
    }
    const responses = new Map(this.settings.responses).set(sha256.toLowerCase(), outcome);
    return this.with({ responses });
  }

  /** Inputs over this many bytes fail with `file_too_large`, unread past the limit. */
  withMaxFileSize(bytes: number): MockScanner {
    return this.with({ maxFileSize: nonNegative('withMaxFileSize', bytes) });
  }

  /** The clock for latency and timestamps (a `ManualClock` in tests). */
  withClock(clock: Clock): MockScanner {
    return this.with({ clock });
  }

  /** Until `makeHealthy()`, every scan and health check fails with `engine_unavailable`. */
  makeUnhealthy(): void {
    this.healthy = false;
  }

  makeHealthy(): void {
    this.healthy = true;
  }

  async healthCheck(): Promise<void> {
    if (!this.healthy) throw this.unavailable();
  }

  async signatureVersion(): Promise<string> {
    return 'mock-1';
  }

  async scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const { name, clock, latencyMs, failRate, responses, maxFileSize } = this.settings;
    const attempt = this.scans++;
    const startedAt = clock.now();
    if (!this.healthy) throw this.unavailable();
    if (Math.floor((attempt + 1) * failRate) > Math.floor(attempt * failRate)) {
      throw new ScanError('connection_failed', `${name}: connection refused (simulated failure)`, {
        engine: name,
      });
    }
    const read = new MeteredRead(input, { ...options, maxBytes: maxFileSize });
    for await (const _ of read.chunks()) {
      // The mock's "engine" only needs the digest.
    }
    if (latencyMs > 0) await sleep(clock, latencyMs, options.signal);
    const fileMetadata = read.metadata();
    return scanResult({
      outcome: responses.get(fileMetadata.hash.sha256) ?? this.settings.outcome,
      fileMetadata,
      engine: name,
      engineVersion: 'mock-1',
      startedAt,
      completedAt: clock.now(),
      context: options.context,
    });
  }

  private with(changes: Partial<MockSettings>): MockScanner {
    return new MockScanner({ ...this.settings, ...changes });
  }

  private unavailable(): ScanError {
    const { name } = this.settings;
    return new ScanError('engine_unavailable', `${name}: engine unavailable (marked unhealthy)`, {
      engine: name,
    });
  }
}

function threatOf(threat: MockThreat, engine: string): ThreatInfo {
  if (typeof threat === 'string')
    return { name: threat, severity: 'high' satisfies Severity, engine };
  return { engine, ...threat };
}

function nonNegative(method: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `MockScanner.${method}: expected a finite number >= 0, got ${describeValue(value)}`,
    );
  }
  return value;
}
