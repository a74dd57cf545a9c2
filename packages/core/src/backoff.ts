import type { OpenDurationContext } from './options.js';
import { describeValue, durationAtLeast, rejectUnknownKeys, requireObject } from './validate.js';

export interface ExponentialBackoffOptions {
  /** The first open period, in ms. */
  initial: number;
  /** The longest open period, in ms. */
  max: number;
  /** Each re-opening multiplies the period by this. Default 2. */
  factor?: number | undefined;
}

const EXPONENTIAL_KEYS: ReadonlySet<string> = new Set(['initial', 'max', 'factor']);

/** Open periods for the `openDuration` option: `openDuration: backoff.exponential({ initial: 1_000, max: 60_000 })`. */
export const backoff = {
  /**
   * `initial`, then `initial × factor`, `initial × factor²` ... for each probe that fails in a
   * row, never more than `max`. A breaker that closes starts again from `initial`.
   */
  exponential(options: ExponentialBackoffOptions): (context: OpenDurationContext) => number {
    const owner = 'backoff.exponential';
    requireObject(owner, options);
    rejectUnknownKeys(owner, options, EXPONENTIAL_KEYS);
    const initial = durationAtLeast(owner, 'initial', options.initial, 0);
    const max = durationAtLeast(owner, 'max', options.max, initial);
    const factor = options.factor ?? 2;
    if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
      throw new RangeError(
        `${owner}: option "factor" must be a finite number >= 1, got ${describeValue(factor)}`,
      );
    }
    // factor ** attempt reaches Infinity in time; with initial 0 that would be 0 * Infinity.
    return ({ attempt }) => (initial === 0 ? 0 : Math.min(max, initial * factor ** (attempt - 1)));
  },

  /** The same period every time. */
  constant(ms: number): (context: OpenDurationContext) => number {
    const period = durationAtLeast('backoff.constant', 'ms', ms, 0);
    return () => period;
  },
} as const;
