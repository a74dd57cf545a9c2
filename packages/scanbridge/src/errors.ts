import { classifyError, type ErrorCategory } from '@breakwater/core';

/** Every way a scan can fail. */
export type ScanErrorKind =
  | 'engine_unavailable'
  | 'timeout'
  | 'connection_failed'
  | 'malformed_file'
  | 'file_too_large'
  | 'circuit_open'
  | 'io'
  | 'file_not_found'
  | 'ambiguous_response'
  | 'rate_limited'
  | 'authentication_failed'
  | 'cancelled'
  | 'internal'
  | 'configuration';

interface KindTraits {
  /** Worth retrying later: the engine, not the file or the setup, was the problem. */
  readonly recoverable: boolean;
  /** What the core breaker's failure policy sees. */
  readonly category: ErrorCategory;
}

// The guide's failure policy: timeouts, connection failures and unavailable engines count;
// rate limiting does not; a circuit_open from a nested breaker is that breaker's business.
const TRAITS: Readonly<Record<ScanErrorKind, KindTraits>> = {
  engine_unavailable: { recoverable: true, category: 'unavailable' },
  timeout: { recoverable: true, category: 'timeout' },
  connection_failed: { recoverable: true, category: 'connection' },
  malformed_file: { recoverable: false, category: 'other' },
  file_too_large: { recoverable: false, category: 'other' },
  circuit_open: { recoverable: true, category: 'other' },
  io: { recoverable: false, category: 'other' },
  file_not_found: { recoverable: false, category: 'other' },
  ambiguous_response: { recoverable: true, category: 'other' },
  rate_limited: { recoverable: true, category: 'rate_limited' },
  authentication_failed: { recoverable: false, category: 'other' },
  cancelled: { recoverable: false, category: 'cancelled' },
  internal: { recoverable: false, category: 'other' },
  configuration: { recoverable: false, category: 'other' },
};

export interface ScanErrorOptions {
  /** The engine that failed, when one did. */
  engine?: string | undefined;
  cause?: unknown;
  /** Milliseconds to wait before asking again (rate_limited, circuit_open). */
  retryAfter?: number | undefined;
  /** Per-engine failures, when several engines failed together. */
  failures?: readonly ScanFailure[] | undefined;
}

/** One engine's failure within a scan. */
export interface ScanFailure {
  readonly engine: string;
  readonly error: ScanError;
}

/** The one error class of scanbridge: `kind` says what went wrong, `recoverable` whether to retry. */
export class ScanError extends Error {
  readonly kind: ScanErrorKind;
  readonly engine: string | undefined;
  readonly retryAfter: number | undefined;
  /** Every engine's failure, when a whole scan failed. */
  readonly failures: readonly ScanFailure[];

  constructor(kind: ScanErrorKind, message: string, options: ScanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.engine = options.engine;
    this.retryAfter = options.retryAfter;
    this.failures = options.failures ?? [];
  }

  get recoverable(): boolean {
    return TRAITS[this.kind].recoverable;
  }

  /** Read by the core breaker's `classifyError`. */
  get category(): ErrorCategory {
    return TRAITS[this.kind].category;
  }

  /** A stable code in the style of the core's errors: `SCANBRIDGE_TIMEOUT`, ... */
  get code(): string {
    return `SCANBRIDGE_${this.kind.toUpperCase()}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      recoverable: this.recoverable,
      ...(this.engine === undefined ? {} : { engine: this.engine }),
      ...(this.retryAfter === undefined ? {} : { retryAfter: this.retryAfter }),
    };
  }
}
ScanError.prototype.name = 'ScanError';

const KIND_OF_CATEGORY: Readonly<Record<ErrorCategory, ScanErrorKind | undefined>> = {
  timeout: 'timeout',
  connection: 'connection_failed',
  unavailable: 'engine_unavailable',
  rate_limited: 'rate_limited',
  cancelled: 'cancelled',
  other: undefined,
};

/**
 * Turns anything thrown during a scan into a ScanError, keeping the original as `cause`.
 * Unknown errors are `internal`: a bug is not a verdict.
 */
export function toScanError(error: unknown, engine?: string): ScanError {
  if (error instanceof ScanError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const kind =
    KIND_OF_CATEGORY[classifyError(error)] ??
    (code === 'ENOENT'
      ? 'file_not_found'
      : typeof code === 'string' && code.startsWith('E')
        ? 'io'
        : 'internal');
  return new ScanError(kind, engine === undefined ? message : `${engine}: ${message}`, {
    engine,
    cause: error,
  });
}
