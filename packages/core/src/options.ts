import { type Clock, MAX_TIMER_MS, systemClock } from './clock.js';
import { FailurePolicy } from './failure-policy.js';
import { FallbackBehavior, isFallbackBehavior } from './fallback.js';
import type { BreakerSnapshot } from './snapshot.js';
import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from './validate.js';
import {
  resolveWindow,
  type WindowOptions,
  type WindowSettings,
} from './windows/window-options.js';

/** pino-compatible: pino, console-like wrappers and most structured loggers fit. */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface OpenDurationContext {
  /** 1 for the first opening since the breaker last closed, 2 when a probe failed once, ... */
  readonly attempt: number;
}

export interface CircuitBreakerOptions<T = unknown> {
  /** Names the breaker in errors, events and logs. Default `'breaker'`. */
  name?: string | undefined;
  /** Consecutive counted failures while closed that open the breaker. Default 5. */
  failureThreshold?: number | undefined;
  /** Milliseconds open before half-open, or a function of the attempt (backoff). Default 30 000. */
  openDuration?: number | ((context: OpenDurationContext) => number) | undefined;
  /** Successful probes in half-open that close the breaker. Default 3. */
  successThreshold?: number | undefined;
  /** Probes allowed in flight at once while half-open. Default 1. */
  halfOpenMaxProbes?: number | undefined;
  /**
   * Milliseconds probes may hold half-open without a decision, timed from when a probe takes a
   * slot while none is in flight, and again from each probe's result while others stay in
   * flight: then the breaker opens again (`half_open_timeout`), so a probe that never settles
   * cannot keep it rejecting. At least `timeout`. Default 60 000, or `timeout` if that is longer.
   */
  halfOpenMaxWait?: number | undefined;
  /**
   * Randomness added to each open period, so a fleet of breakers does not probe in step: up to
   * this many ms, or `{ fraction: 0.1 }` for up to 10% of the period. Default 0.
   */
  jitter?: number | { fraction: number } | undefined;
  /** Per-call limit in ms: the call's AbortSignal aborts and it fails with `TimeoutError`. Default none. */
  timeout?: number | undefined;
  /** Which errors count as failures. Default `FailurePolicy.default()`. */
  failurePolicy?: FailurePolicy | ((error: unknown) => boolean) | undefined;
  /** What rejected calls get. Default `FallbackBehavior.failClosed()`. */
  fallback?: FallbackBehavior<T> | undefined;
  /** Also use the fallback when a call fails with a counted error. Default false. */
  fallbackOnFailure?: boolean | undefined;
  /**
   * When the failure that opens the breaker says how long to wait (`error.retryAfter` in ms, or
   * a `Retry-After` header on `error.response`), stay open at least that long (at most a day).
   * Default false.
   */
  honorRetryAfter?: boolean | undefined;
  /** Time source (epoch ms); a `ManualClock` in tests. Default `Date.now`. */
  clock?: Clock | undefined;
  /** Warns on open, informs on close. Default none. */
  logger?: Logger | undefined;
  /**
   * `'observe'` never rejects a call: when a trip rule fires, the breaker emits `wouldOpen`,
   * counts it in `timesWouldOpen` and starts counting again, so a new breaker can be rolled
   * out and tuned on live traffic before it enforces anything. Default `'enforce'`.
   */
  mode?: 'enforce' | 'observe' | undefined;
  /**
   * A snapshot from `breaker.toJSON()` (or its JSON text) to start from, so a short-lived
   * process keeps the state its predecessor saw. An open snapshot whose period has passed
   * starts half-open; a corrupt, foreign or other breaker's snapshot is refused; null (a store's
   * "no such key") is none. Default none.
   */
  initialState?: BreakerSnapshot | string | null | undefined;
  /**
   * A rate-based trip rule beside the consecutive one (either opens the breaker): failure
   * and slow-call rates over the last N calls or the last N ms. Default none.
   */
  window?: WindowOptions | undefined;
}

/** Options after validation, with every default filled in. */
export interface Settings<T> {
  readonly name: string;
  readonly failureThreshold: number;
  readonly openDuration: number | ((context: OpenDurationContext) => number);
  readonly successThreshold: number;
  readonly halfOpenMaxProbes: number;
  readonly halfOpenMaxWait: number;
  /** Up to this many ms, or up to this share of the period. */
  readonly jitter: number | { readonly fraction: number };
  /** 0 when calls have no time limit. */
  readonly timeout: number;
  readonly failurePolicy: { isFailure(error: unknown): boolean };
  readonly fallback: FallbackBehavior<T>;
  readonly fallbackOnFailure: boolean;
  readonly honorRetryAfter: boolean;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly observe: boolean;
  readonly window: WindowSettings | undefined;
}

export const DEFAULTS = {
  name: 'breaker',
  failureThreshold: 5,
  openDuration: 30_000,
  successThreshold: 3,
  halfOpenMaxProbes: 1,
  halfOpenMaxWait: 60_000,
  jitter: 0,
} as const;

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'name',
  'failureThreshold',
  'openDuration',
  'successThreshold',
  'halfOpenMaxProbes',
  'halfOpenMaxWait',
  'jitter',
  'timeout',
  'failurePolicy',
  'fallback',
  'fallbackOnFailure',
  'honorRetryAfter',
  'clock',
  'logger',
  'mode',
  'window',
  'initialState',
]);

const OWNER = 'CircuitBreaker';
// Policies are immutable, so every breaker without one can share this.
const DEFAULT_POLICY = FailurePolicy.default();

function has<K extends string>(value: object, ...keys: K[]): boolean {
  return keys.every((key) => typeof (value as Record<string, unknown>)[key] === 'function');
}

function check(condition: boolean, key: string, expected: string, value: unknown): void {
  if (!condition)
    throw new TypeError(
      `${OWNER}: option "${key}" must be ${expected}, got ${describeValue(value)}`,
    );
}

/** Validates once, at construction, so nothing on the hot path has to. */
export function resolveOptions<T>(options: CircuitBreakerOptions<T> = {}): Settings<T> {
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KNOWN_KEYS);
  const o = options;

  const name = orDefault(o.name, DEFAULTS.name);
  check(typeof name === 'string' && name.length > 0, 'name', 'a non-empty string', name);

  const openDuration = orDefault(o.openDuration, DEFAULTS.openDuration);
  if (typeof openDuration !== 'function') durationAtLeast(OWNER, 'openDuration', openDuration, 0);

  let timeout = 0;
  if (o.timeout !== undefined) {
    timeout = durationAtLeast(OWNER, 'timeout', o.timeout, 0);
    if (timeout === 0 || timeout > MAX_TIMER_MS) {
      throw new RangeError(
        `${OWNER}: option "timeout" must be > 0 and <= ${MAX_TIMER_MS} ms (omit it for no limit), got ${timeout}`,
      );
    }
  }

  // Duck-typed, so a policy from the CommonJS build works with the ESM build and back.
  const policy = orDefault(o.failurePolicy, DEFAULT_POLICY);
  const isPolicy =
    typeof policy === 'object' &&
    policy !== null &&
    typeof (policy as FailurePolicy).isFailure === 'function';
  check(
    isPolicy || typeof policy === 'function',
    'failurePolicy',
    'a FailurePolicy or a function (error) => boolean',
    policy,
  );

  const fallback = orDefault(o.fallback, FallbackBehavior.failClosed());
  check(
    isFallbackBehavior(fallback),
    'fallback',
    'made by FallbackBehavior.failClosed/failOpen/fallback',
    fallback,
  );

  const fallbackOnFailure = orDefault(o.fallbackOnFailure, false);
  check(
    typeof fallbackOnFailure === 'boolean',
    'fallbackOnFailure',
    'a boolean',
    fallbackOnFailure,
  );

  const honorRetryAfter = orDefault(o.honorRetryAfter, false);
  check(typeof honorRetryAfter === 'boolean', 'honorRetryAfter', 'a boolean', honorRetryAfter);

  const clock = orDefault(o.clock, systemClock);
  check(
    typeof clock === 'object' &&
      clock !== null &&
      has(clock, 'now') &&
      (has(clock, 'setTimeout', 'clearTimeout') ||
        (clock.setTimeout === undefined && clock.clearTimeout === undefined)),
    'clock',
    'an object with now() (and setTimeout/clearTimeout functions, both or neither)',
    clock,
  );

  const mode = orDefault(o.mode, 'enforce');
  check(mode === 'enforce' || mode === 'observe', 'mode', '"enforce" or "observe"', mode);

  const logger = o.logger;
  check(
    logger === undefined ||
      (typeof logger === 'object' && logger !== null && has(logger, 'info', 'warn', 'error')),
    'logger',
    'an object with info, warn and error methods',
    logger,
  );

  return {
    name,
    failureThreshold: integerAtLeast(
      OWNER,
      'failureThreshold',
      orDefault(o.failureThreshold, DEFAULTS.failureThreshold),
      1,
    ),
    openDuration,
    successThreshold: integerAtLeast(
      OWNER,
      'successThreshold',
      orDefault(o.successThreshold, DEFAULTS.successThreshold),
      1,
    ),
    halfOpenMaxProbes: integerAtLeast(
      OWNER,
      'halfOpenMaxProbes',
      orDefault(o.halfOpenMaxProbes, DEFAULTS.halfOpenMaxProbes),
      1,
    ),
    halfOpenMaxWait: resolveHalfOpenMaxWait(o.halfOpenMaxWait, timeout),
    jitter: resolveJitter(orDefault(o.jitter, DEFAULTS.jitter)),
    timeout,
    failurePolicy: typeof policy === 'function' ? { isFailure: policy } : policy,
    fallback,
    fallbackOnFailure,
    honorRetryAfter,
    clock,
    logger,
    observe: mode === 'observe',
    window: resolveWindow(OWNER, o.window),
  };
}

/** A probe must be allowed its own `timeout`: a shorter wait would cut it short, unannounced. */
function resolveHalfOpenMaxWait(value: unknown, timeout: number): number {
  if (value === undefined) return Math.max(DEFAULTS.halfOpenMaxWait, timeout);
  const wait = durationAtLeast(OWNER, 'halfOpenMaxWait', value, 1);
  if (wait > MAX_TIMER_MS) {
    throw new RangeError(
      `${OWNER}: option "halfOpenMaxWait" must be <= ${MAX_TIMER_MS} ms (about 24.8 days), got ${wait}`,
    );
  }
  if (wait < timeout) {
    throw new RangeError(
      `${OWNER}: option "halfOpenMaxWait" (${wait}) must be at least "timeout" (${timeout}): a probe would be cut short before its own time limit; raise halfOpenMaxWait or omit it`,
    );
  }
  return wait;
}

function resolveJitter(value: unknown): Settings<unknown>['jitter'] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    rejectUnknownKeys(`${OWNER} jitter`, value, JITTER_KEYS);
    const fraction = (value as { fraction?: unknown }).fraction;
    if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
      throw new RangeError(
        `${OWNER}: option "jitter.fraction" must be a number from 0 to 1, got ${describeValue(fraction)}`,
      );
    }
    return Object.freeze({ fraction });
  }
  return durationAtLeast(OWNER, 'jitter', value, 0);
}

const JITTER_KEYS: ReadonlySet<string> = new Set(['fraction']);

function preset(
  failureThreshold: number,
  openDuration: number,
  successThreshold: number,
  halfOpenMaxProbes: number,
): CircuitBreakerOptions<never> {
  return {
    failureThreshold,
    openDuration,
    successThreshold,
    halfOpenMaxProbes,
    fallback: FallbackBehavior.failClosed(),
  };
}

/** Ready-made option sets; spread them and add a name: `{ ...presets.strict(), name: 'clamav' }`. */
export const presets = {
  /** 5 failures to open, 30 s open, 3 successful probes to close, 1 probe at a time, fail closed. */
  default: () => preset(5, 30_000, 3, 1),
  /** Trips early and recovers cautiously: 3 failures, 60 s open, 5 successful probes, fail closed. */
  strict: () => preset(3, 60_000, 5, 1),
  /** Tolerant and quick to recover: 10 failures, 10 s open, 2 successful probes, 3 probes at once, fail closed. */
  highAvailability: () => preset(10, 10_000, 2, 3),
} as const;
