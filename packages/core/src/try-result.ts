import type { CallRecorder } from './call.js';

/** What `tryExecute` resolves to: it never rejects, so hot loops need no try/catch. */
export type TryResult<R> =
  | { readonly ok: true; readonly value: R }
  /** The breaker refused the call (open, or half-open with every probe slot taken). */
  | { readonly ok: false; readonly rejected: true; readonly retryAfter: number }
  /**
   * The call ran (or was cancelled) and failed with `error`. `counted` is the failure policy's
   * verdict on this call's error: true when it judged the error a failure of the backend, false
   * for the caller's abort and for an error it does not count. It says what the error was, not
   * that it moved the state: it is true also where the breaker could not act on it (after
   * `reset()`, `forceOpen()` or any transition since the call was admitted, while disabled, in
   * observe mode), so a caller can act on this very call's failure. With `fallbackOnFailure`, a
   * fallback that throws gives its own error with `counted: true`; a refused call's fallback that
   * throws gives its error with `counted: false` (the refusal judged no error).
   */
  | {
      readonly ok: false;
      readonly rejected: false;
      readonly error: unknown;
      readonly counted: boolean;
    };

// Module-level, so a call allocates its result object and nothing else.
export const succeeded = <R>(value: R): TryResult<R> => ({ ok: true, value });
export const failed = (error: unknown, counted: boolean): TryResult<never> => ({
  ok: false,
  rejected: false,
  error,
  counted,
});
/** A refusal whose fallback threw: the refusal counted nothing. */
export const failedUncounted = (error: unknown): TryResult<never> => failed(error, false);

/**
 * Stands between a tracked `tryExecute` call and its breaker to keep the verdict the breaker
 * gave this one call: a verdict keyed by the error instead would mix up two calls that fail
 * with the same error.
 */
export class VerdictRecorder implements CallRecorder {
  private counted = false;
  readonly name: string;

  constructor(private readonly breaker: CallRecorder) {
    this.name = breaker.name;
  }

  recordSuccess(generation: number, startedAt: number): void {
    this.breaker.recordSuccess(generation, startedAt);
  }

  recordFailure(
    generation: number,
    error: unknown,
    startedAt: number,
    cancelled: boolean,
  ): boolean {
    // Should the breaker's bookkeeping throw, the failure counts: the safe side, as for a throwing policy.
    this.counted = !cancelled;
    this.counted = this.breaker.recordFailure(generation, error, startedAt, cancelled);
    return this.counted;
  }

  recordTimeout(generation: number, timeoutMs: number): void {
    this.breaker.recordTimeout(generation, timeoutMs);
  }

  recover(generation: number, error: unknown): Promise<unknown> | undefined {
    return this.breaker.recover(generation, error);
  }

  report(error: unknown, message: string): void {
    this.breaker.report(error, message);
  }

  /** The failure result, built once the call has settled (so its verdict is in). */
  readonly failed = (error: unknown): TryResult<never> => failed(error, this.counted);
}
