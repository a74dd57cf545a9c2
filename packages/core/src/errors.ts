/** The states that reject calls. */
export type RejectingState = 'open' | 'half_open';

/** Base class of every error the breaker itself raises; `code` is stable across versions. */
export class BreakwaterError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
BreakwaterError.prototype.name = 'BreakwaterError';

/** A call the breaker refused to run because it is open (or half-open with every probe slot taken). */
export class CircuitOpenError extends BreakwaterError {
  /** Name of the breaker that rejected the call. */
  readonly breaker: string;
  /** Milliseconds until the breaker lets a probe through; `Infinity` while forced open, 0 in half-open. */
  readonly retryAfter: number;
  readonly state: RejectingState;

  constructor(breaker: string, state: RejectingState, retryAfter: number) {
    super(
      'BREAKWATER_CIRCUIT_OPEN',
      state === 'open'
        ? `Circuit breaker "${breaker}" is open; retry in ${retryAfter === Number.POSITIVE_INFINITY ? 'never (forced open)' : `${Math.ceil(retryAfter)} ms`}`
        : `Circuit breaker "${breaker}" is half-open and every probe slot is taken; retry shortly`,
    );
    this.breaker = breaker;
    this.state = state;
    this.retryAfter = retryAfter;
  }
}
CircuitOpenError.prototype.name = 'CircuitOpenError';

/** A call that ran longer than the breaker's `timeout`; its AbortSignal was aborted with this error. */
export class TimeoutError extends BreakwaterError {
  readonly breaker: string;
  readonly timeoutMs: number;
  /** Read by {@link classifyError}: a timeout is a timeout wherever it is caught. */
  readonly category = 'timeout';

  constructor(breaker: string, timeoutMs: number) {
    super(
      'BREAKWATER_TIMEOUT',
      `Call through circuit breaker "${breaker}" timed out after ${timeoutMs} ms`,
    );
    this.breaker = breaker;
    this.timeoutMs = timeoutMs;
  }
}
TimeoutError.prototype.name = 'TimeoutError';

// V8's knob (Node, Chromium, Deno); engines without it simply ignore the assignment.
const ErrorWithLimit = Error as ErrorConstructor & { stackTraceLimit?: number | undefined };

/**
 * Rejections are the breaker's hot error path, and a stack trace costs microseconds
 * while saying nothing useful (the caller's own await shows where it came from).
 */
export function circuitOpenError(
  breaker: string,
  state: RejectingState,
  retryAfter: number,
): CircuitOpenError {
  const limit = ErrorWithLimit.stackTraceLimit;
  ErrorWithLimit.stackTraceLimit = 0;
  const error = new CircuitOpenError(breaker, state, retryAfter);
  ErrorWithLimit.stackTraceLimit = limit;
  return error;
}
