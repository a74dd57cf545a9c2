import { randomUUID } from 'node:crypto';
import type { ExtraHash } from './hashing.js';
import type { FileInput } from './input.js';
import type { FileMetadata, ScanContext, ScanOutcome, ScanResult } from './result.js';

export interface ScanOptions {
  /** Aborts the scan; the scanner stops reading and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  context?: ScanContext | undefined;
  /**
   * A time limit for this scan, in ms. A breaker-wrapped scanner enforces it inside its
   * breaker, so the breaker counts the timeout; the scan manager sets it from `scanTimeoutMs`.
   */
  timeoutMs?: number | undefined;
  /** Digests to report besides sha256. */
  hashes?: readonly ExtraHash[] | undefined;
}

/**
 * A malware engine. Implementations throw `ScanError` for anything that is not a verdict, and
 * read the file through its input (`new MeteredRead(input, options)`, `input.chunks()`,
 * `input.readAll()`), never by `input.path`: what was read through the input is what the scan
 * manager checks the result against.
 */
export interface Scanner {
  readonly name: string;
  scan(input: FileInput, options?: ScanOptions): Promise<ScanResult>;
  /** Resolves when the engine answers; rejects with a ScanError saying why not. */
  healthCheck(): Promise<void>;
  /** The largest input, in bytes, the engine accepts. */
  readonly maxFileSize?: number | undefined;
  signatureVersion?(): Promise<string | undefined>;
}

export interface ResultParts {
  readonly outcome: ScanOutcome;
  readonly fileMetadata: FileMetadata;
  readonly engine: string;
  readonly engineVersion?: string | undefined;
  readonly startedAt: number;
  readonly completedAt: number;
  readonly context?: ScanContext | undefined;
  readonly source?: string | undefined;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** A ScanResult with a fresh id and the fields every engine fills the same way. */
export function scanResult(parts: ResultParts): ScanResult {
  const { engineVersion, source } = parts;
  return {
    id: randomUUID(),
    outcome: parts.outcome,
    fileMetadata: parts.fileMetadata,
    engine: parts.engine,
    ...(engineVersion === undefined ? {} : { engineVersion }),
    startedAt: parts.startedAt,
    completedAt: parts.completedAt,
    durationMs: parts.completedAt - parts.startedAt,
    context: parts.context ?? {},
    ...(source === undefined ? {} : { source }),
    cached: false,
    details: parts.details ?? {},
  };
}
