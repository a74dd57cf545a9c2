export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** Severities from least to most serious; `severityAtLeast` compares positions in it. */
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export interface ThreatInfo {
  readonly name: string;
  readonly severity: Severity;
  /** The engine that reported it. */
  readonly engine: string;
  readonly signatureId?: string;
  readonly category?: string;
  readonly description?: string;
}

export type ScanOutcome =
  | { readonly type: 'clean' }
  | { readonly type: 'infected'; readonly threats: readonly ThreatInfo[] }
  | { readonly type: 'suspicious'; readonly reason: string; readonly confidence: number }
  | { readonly type: 'error'; readonly recoverable: boolean };

export type OutcomeType = ScanOutcome['type'];

/** Who asked for a scan; carried into results, policy decisions and audit events. */
export interface ScanContext {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly requestId?: string;
  /** Where the file came from (an upload form, an import job ...). */
  readonly source?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Lower-case hex digests. sha256 always; md5 and blake3 when asked for. */
export interface FileHash {
  readonly sha256: string;
  readonly md5?: string;
  readonly blake3?: string;
}

export interface FileMetadata {
  readonly filename?: string;
  readonly mimeType?: string;
  /** Bytes actually read. */
  readonly size: number;
  readonly hash: FileHash;
}

export interface ScanResult {
  readonly id: string;
  readonly outcome: ScanOutcome;
  readonly fileMetadata: FileMetadata;
  /** The engine that produced the verdict (`clamav-failopen` for a fail-open stand-in). */
  readonly engine: string;
  readonly engineVersion?: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly completedAt: number;
  readonly durationMs: number;
  readonly context: ScanContext;
  /** Set when no engine produced this verdict: `'failopen'` for a breaker's fail-open stand-in. */
  readonly source?: string;
  /** True when the verdict came from a cache rather than a fresh scan. */
  readonly cached: boolean;
  /** Engine-specific extras (raw replies, warnings); never file contents or credentials. */
  readonly details: Readonly<Record<string, unknown>>;
}
