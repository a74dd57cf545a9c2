/** What `tryExecute` resolves to: it never rejects, so hot loops need no try/catch. */
export type TryResult<R> =
  | { readonly ok: true; readonly value: R }
  /** The breaker refused the call (open, or half-open with every probe slot taken). */
  | { readonly ok: false; readonly rejected: true; readonly retryAfter: number }
  /** The call ran (or was cancelled) and failed with `error`. */
  | { readonly ok: false; readonly rejected: false; readonly error: unknown };

// Module-level, so a call allocates its result object and nothing else.
export const succeeded = <R>(value: R): TryResult<R> => ({ ok: true, value });
export const failed = (error: unknown): TryResult<never> => ({ ok: false, rejected: false, error });
