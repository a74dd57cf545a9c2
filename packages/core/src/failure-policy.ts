import { describeValue, rejectUnknownKeys, requireObject } from './validate.js';

/** What kind of failure an error is; see {@link classifyError}. */
export type ErrorCategory =
  | 'timeout'
  | 'connection'
  | 'unavailable'
  | 'rate_limited'
  | 'cancelled'
  | 'other';

const CATEGORIES: ReadonlySet<string> = new Set<ErrorCategory>([
  'timeout',
  'connection',
  'unavailable',
  'rate_limited',
  'cancelled',
  'other',
]);

const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

// fetch() wraps the system error in `cause`; a few levels covers every wrapper seen in practice.
const MAX_CAUSE_DEPTH = 4;

/** The properties classification reads; named reads stay fast where keyed ones would not. */
interface ErrorShape {
  category?: unknown;
  name?: unknown;
  status?: unknown;
  statusCode?: unknown;
  response?: { status?: unknown } | null;
  code?: unknown;
  cause?: unknown;
}

function classifyOne(error: ErrorShape): ErrorCategory | undefined {
  const declared = error.category;
  if (typeof declared === 'string' && CATEGORIES.has(declared)) return declared as ErrorCategory;
  const name = error.name;
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'AbortError') return 'cancelled';
  const response = error.response;
  const status =
    error.status ??
    error.statusCode ??
    (typeof response === 'object' && response !== null ? response.status : undefined);
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  const code = error.code;
  if (typeof code === 'string') {
    if (CONNECTION_CODES.has(code)) return 'connection';
    if (TIMEOUT_CODES.has(code)) return 'timeout';
  }
  return undefined;
}

/**
 * Says what kind of failure `error` is. An error may declare its own `category`;
 * otherwise its name, HTTP status (`status`, `statusCode` or `response.status`) and
 * system error code decide, looking through `cause` where fetch() puts the real error.
 */
export function classifyError(error: unknown): ErrorCategory {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null) return 'other';
    const category = classifyOne(current as ErrorShape);
    if (category !== undefined) return category;
    current = (current as ErrorShape).cause;
  }
  return 'other';
}

export interface FailurePolicyOptions {
  /** Count timeouts (ours and others'). Default true. */
  countTimeouts?: boolean;
  /** Count connection failures (refused, reset, DNS ...). Default true. */
  countConnectionFailures?: boolean;
  /** Count 502/503/504 and errors that declare the `unavailable` category. Default true. */
  countEngineUnavailable?: boolean;
  /** Count 429s: usually the caller's fault, not the dependency's. Default false. */
  countRateLimited?: boolean;
  /** Count every error but cancellations. Default false. */
  countAllErrors?: boolean;
}

const POLICY_KEYS: ReadonlySet<string> = new Set([
  'countTimeouts',
  'countConnectionFailures',
  'countEngineUnavailable',
  'countRateLimited',
  'countAllErrors',
]);

/** Decides which errors count toward opening the breaker; the rest pass through uncounted. */
export class FailurePolicy {
  readonly countTimeouts: boolean;
  readonly countConnectionFailures: boolean;
  readonly countEngineUnavailable: boolean;
  readonly countRateLimited: boolean;
  readonly countAllErrors: boolean;

  constructor(options: FailurePolicyOptions = {}) {
    requireObject('FailurePolicy', options);
    rejectUnknownKeys('FailurePolicy', options, POLICY_KEYS);
    this.countTimeouts = flag(options, 'countTimeouts', true);
    this.countConnectionFailures = flag(options, 'countConnectionFailures', true);
    this.countEngineUnavailable = flag(options, 'countEngineUnavailable', true);
    this.countRateLimited = flag(options, 'countRateLimited', false);
    this.countAllErrors = flag(options, 'countAllErrors', false);
  }

  /** Timeouts, connection failures and unavailable dependencies; not rate limiting, not other errors. */
  static default(): FailurePolicy {
    return new FailurePolicy();
  }

  /** Every error but the caller's own cancellation. */
  static allErrors(): FailurePolicy {
    return new FailurePolicy({ countAllErrors: true });
  }

  /** Connection failures and timeouts only. */
  static connectionOnly(): FailurePolicy {
    return new FailurePolicy({ countEngineUnavailable: false });
  }

  /** Whether an error of this category counts as a failure. */
  countsCategory(category: ErrorCategory): boolean {
    switch (category) {
      case 'cancelled':
        return false;
      case 'timeout':
        return this.countAllErrors || this.countTimeouts;
      case 'connection':
        return this.countAllErrors || this.countConnectionFailures;
      case 'unavailable':
        return this.countAllErrors || this.countEngineUnavailable;
      case 'rate_limited':
        return this.countAllErrors || this.countRateLimited;
      case 'other':
        return this.countAllErrors;
    }
  }

  /** Whether `error` counts as a failure. */
  isFailure(error: unknown): boolean {
    return this.countsCategory(classifyError(error));
  }
}

function flag(
  options: FailurePolicyOptions,
  key: keyof FailurePolicyOptions,
  fallback: boolean,
): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(
      `FailurePolicy option "${key}" must be a boolean, got ${describeValue(value)}`,
    );
  }
  return value;
}
