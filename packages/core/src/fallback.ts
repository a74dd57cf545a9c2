import { describeValue } from './validate.js';

/** Why a fallback is producing the result. */
export type FallbackReason = 'open' | 'half_open_full' | 'failure';

export interface FallbackInfo {
  /** Name of the breaker. */
  readonly breaker: string;
  readonly reason: FallbackReason;
  /** The operation's error, when `reason` is `failure`. */
  readonly error?: unknown;
}

export type FallbackHandler<T> = (info: FallbackInfo) => T | PromiseLike<T>;

/** What a breaker does with a call it will not run (and, with `fallbackOnFailure`, a call that failed). */
export type FallbackBehavior<T = unknown> =
  | { readonly kind: 'fail_closed' }
  | { readonly kind: 'fail_open'; readonly handler: FallbackHandler<T> }
  | { readonly kind: 'fallback'; readonly handler: FallbackHandler<T> };

function handlerOf<T>(name: string, handler: FallbackHandler<T>): FallbackHandler<T> {
  if (typeof handler !== 'function') {
    throw new TypeError(
      `FallbackBehavior.${name}(handler) needs a function, got ${describeValue(handler)}`,
    );
  }
  return handler;
}

const FAIL_CLOSED: FallbackBehavior<never> = Object.freeze({ kind: 'fail_closed' });

export const FallbackBehavior = {
  /** Rejected calls throw `CircuitOpenError`. The default: nothing passes unchecked. */
  failClosed(): FallbackBehavior<never> {
    return FAIL_CLOSED;
  },
  /**
   * Rejected calls resolve with a synthetic value made by `factory`; make it
   * recognisable (scanbridge's carries `source: 'failopen'`). Logs a warning the first time.
   */
  failOpen<T>(factory: FallbackHandler<T>): FallbackBehavior<T> {
    return { kind: 'fail_open', handler: handlerOf('failOpen', factory) };
  },
  /** Rejected calls go to `alternate` (another replica, a cache, a second engine). */
  fallback<T>(alternate: FallbackHandler<T>): FallbackBehavior<T> {
    return { kind: 'fallback', handler: handlerOf('fallback', alternate) };
  },
} as const;

export function isFallbackBehavior(value: unknown): value is FallbackBehavior<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, handler } = value as { kind?: unknown; handler?: unknown };
  if (kind === 'fail_closed') return true;
  return (kind === 'fail_open' || kind === 'fallback') && typeof handler === 'function';
}
