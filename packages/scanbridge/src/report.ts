import type { ScanFailure } from './errors.js';
import type { FileHash, FileMetadata, ScanContext, ScanOutcome, ScanResult } from './result.js';

/** What a ScanManager says about one file: every engine's result and every engine's failure. */
export interface ScanReport {
  readonly id: string;
  readonly results: readonly ScanResult[];
  readonly aggregatedOutcome: ScanOutcome;
  readonly fileHash: FileHash;
  /** The file as the manager read it (name, sniffed type, size, hashes). */
  readonly fileMetadata: FileMetadata;
  /** Epoch milliseconds. */
  readonly requestedAt: number;
  readonly completedAt: number;
  /** Wall time from request to report: engines run side by side, so this is not a sum. */
  readonly totalDurationMs: number;
  readonly context: ScanContext;
  /** Engines that gave no result, and why (a breaker's circuit_open included). */
  readonly failures: readonly ScanFailure[];
}
