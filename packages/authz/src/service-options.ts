import {
  type BreakerRegistry,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type Clock,
  type Criticality,
  type Logger,
  systemClock,
} from '@breakwater/core';
import {
  describeValue,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { DecisionCache, type DecisionCacheOptions } from './decision-cache.js';
import { FallbackStrategy } from './fallback.js';
import type { FallbackDecider, PermissionChecker } from './types.js';

/**
 * The breaker's options: core's, without what the service does itself. Fallbacks are the
 * service's `fallback` (a decision, never a synthetic value), and what never counts as a
 * failure (a refused request) stays so whatever `failurePolicy` says.
 */
export type SpiceDbBreakerOptions = Omit<
  CircuitBreakerOptions<never>,
  'fallback' | 'fallbackOnFailure'
>;

export interface AuthorizationServiceOptions {
  /** What answers checks: a `SpiceDbChecker`, or any `PermissionChecker`. The caller owns it. */
  checker: PermissionChecker;
  /** Overrides {@link SPICEDB_BREAKER_DEFAULTS}, key by key. */
  breaker?: SpiceDbBreakerOptions | undefined;
  /** Decides what SpiceDB cannot. Default `FallbackStrategy.denyAll()`. */
  fallback?: FallbackDecider | undefined;
  /**
   * A `DecisionCache`, its options (its `clock` defaults to the service's), or `false` for none.
   * Default `new DecisionCache({ clock })`.
   */
  cache?: DecisionCache | DecisionCacheOptions | false | undefined;
  /** Registers the breaker here (under its name) for the health roll-up. Default none. */
  registry?: BreakerRegistry | undefined;
  /** What the breaker being open means for the service's health. Default `'degraded'`. */
  criticality?: Criticality | undefined;
  /** pino-compatible; also the breaker's, unless `breaker.logger` says otherwise. Default none. */
  logger?: Logger | undefined;
  /** Time for the breaker, the default cache and durations; a `ManualClock` in tests. */
  clock?: Clock | undefined;
}

/**
 * The guide's breaker for SpiceDB: open after 3 counted failures, 60 s open (plus up to 1 s at
 * random, so a fleet does not probe in step), close after 2 successful probes, 2 s per check.
 */
export const SPICEDB_BREAKER_DEFAULTS = Object.freeze({
  name: 'spicedb',
  failureThreshold: 3,
  successThreshold: 2,
  openDuration: 60_000,
  jitter: 1_000,
  timeout: 2_000,
});

/**
 * A check SpiceDB or the service refused as malformed; by code, so any build's error matches.
 * An error whose `code` cannot be read is no refusal: it is a backend failing oddly.
 */
export function isRequestError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  try {
    return (error as { code?: unknown }).code === 'BREAKWATER_AUTHZ_BAD_REQUEST';
  } catch {
    return false;
  }
}

/**
 * The default failure policy: every backend error counts but a refused request (the caller's
 * bug, not an outage). A cancellation counts too: the breaker records a caller's own abort as
 * cancelled without asking the policy, so one that reaches it came from elsewhere (SpiceDB
 * draining, a proxy resetting the stream), and that is SpiceDB failing to answer; the error's
 * category cannot tell the two apart, whose signal aborted can. Rate limiting counts too, unlike
 * core's default: SpiceDB refusing to answer because it is overloaded is SpiceDB failing to
 * answer, and a caller waiting on it would only add to the load.
 */
export function countsAsSpiceDbFailure(error: unknown): boolean {
  return !isRequestError(error);
}

/** The options after validation: the parts ready to use. */
export interface ServiceParts {
  readonly checker: PermissionChecker;
  /** Whether a check that asks no consistency may be cached and shared (the checker's default). */
  readonly cacheableByDefault: boolean;
  readonly breaker: CircuitBreaker;
  /** The limit for `health()`: the breaker's per-call timeout. */
  readonly timeout: number;
  readonly fallback: FallbackDecider;
  readonly cache: DecisionCache | undefined;
  readonly registry: BreakerRegistry | undefined;
  readonly criticality: Criticality;
  readonly logger: Logger | undefined;
  readonly clock: Clock;
}

const OWNER = 'AuthorizationService';
const KEYS: ReadonlySet<string> = new Set([
  'checker',
  'breaker',
  'fallback',
  'cache',
  'registry',
  'criticality',
  'logger',
  'clock',
]);
const CRITICALITIES: readonly unknown[] = ['critical', 'degraded', 'warning'];

function fail(key: string, expected: string, value: unknown): never {
  throw new TypeError(`${OWNER}: option "${key}" must be ${expected}, got ${describeValue(value)}`);
}

function hasMethods(value: unknown, ...names: string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}

/** Validates once, at construction, and builds the breaker and the cache. */
export function resolveServiceOptions(options: AuthorizationServiceOptions): ServiceParts {
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KEYS);

  const checker = options.checker;
  if (
    !hasMethods(checker, 'check', 'health') ||
    !['undefined', 'function'].includes(typeof (checker as { checkMany?: unknown }).checkMany)
  ) {
    fail('checker', 'a PermissionChecker (check and health methods, checkMany optional)', checker);
  }
  const cacheableByDefault = defaultIsCacheable(checker);

  const clock = orDefault(options.clock, systemClock);
  if (!hasMethods(clock, 'now')) fail('clock', 'an object with a now() method', clock);

  const logger = options.logger;
  if (logger !== undefined && !hasMethods(logger, 'info', 'warn', 'error'))
    fail('logger', 'an object with info, warn and error methods', logger);

  const fallback = orDefault(options.fallback, FallbackStrategy.denyAll());
  if (
    !hasMethods(fallback, 'decide') ||
    typeof fallback.name !== 'string' ||
    fallback.name.length === 0
  ) {
    fail('fallback', 'a FallbackDecider made by FallbackStrategy.*', fallback);
  }

  const registry = options.registry;
  if (registry !== undefined && !hasMethods(registry, 'register', 'delete', 'has'))
    fail('registry', 'a BreakerRegistry', registry);

  const criticality = orDefault(options.criticality, 'degraded');
  if (!CRITICALITIES.includes(criticality))
    fail('criticality', '"critical", "degraded" or "warning"', criticality);

  const { breaker, timeout } = buildBreaker(options.breaker, clock, logger);
  return {
    checker,
    cacheableByDefault,
    breaker,
    timeout,
    fallback,
    cache: buildCache(options.cache, clock),
    registry,
    criticality,
    logger,
    clock,
  };
}

/** The checker's default consistency, read once: only `minimize_latency` (or none) is cacheable. */
function defaultIsCacheable(checker: PermissionChecker): boolean {
  const consistency: unknown = checker.consistency;
  if (consistency === undefined || consistency === 'minimize_latency') return true;
  const token =
    typeof consistency === 'object' && consistency !== null
      ? (consistency as { atLeastAsFresh?: unknown }).atLeastAsFresh
      : undefined;
  if (consistency === 'fully_consistent' || (typeof token === 'string' && token.length > 0))
    return false;
  throw new TypeError(
    `${OWNER}: option "checker" has consistency ${describeValue(consistency)}; a checker's default must be 'minimize_latency', 'fully_consistent' or { atLeastAsFresh: zedToken }`,
  );
}

function buildBreaker(
  value: SpiceDbBreakerOptions | undefined,
  clock: Clock,
  logger: Logger | undefined,
): Pick<ServiceParts, 'breaker' | 'timeout'> {
  const own = orDefault(value, {});
  requireObject(`${OWNER} breaker`, own);
  for (const key of ['fallback', 'fallbackOnFailure']) {
    if (key in own) {
      throw new TypeError(
        `${OWNER}: option "breaker.${key}" is not accepted: checks SpiceDB cannot answer go to the service's "fallback" strategy`,
      );
    }
  }
  const failurePolicy = withRequestErrorsUncounted(own.failurePolicy);
  const merged: CircuitBreakerOptions<never> = { ...SPICEDB_BREAKER_DEFAULTS, clock };
  if (logger !== undefined) merged.logger = logger;
  for (const [key, setting] of Object.entries(own)) {
    // `undefined` takes the default, as in core's own options.
    if (setting !== undefined) (merged as Record<string, unknown>)[key] = setting;
  }
  // Asked once per failure, by the breaker; the service reads that verdict from tryExecute's
  // `counted`, so a policy need not be pure (one that samples, or counts each error once).
  merged.failurePolicy = failurePolicy;
  // Core validates the rest, naming the option and the value.
  const breaker = new CircuitBreaker<never>(merged);
  return { breaker, timeout: merged.timeout ?? SPICEDB_BREAKER_DEFAULTS.timeout };
}

function withRequestErrorsUncounted(
  policy: SpiceDbBreakerOptions['failurePolicy'],
): (error: unknown) => boolean {
  if (policy === undefined) return countsAsSpiceDbFailure;
  if (typeof policy === 'function') return (error) => !isRequestError(error) && policy(error);
  if (hasMethods(policy, 'isFailure'))
    return (error) => !isRequestError(error) && policy.isFailure(error);
  return fail('breaker.failurePolicy', 'a FailurePolicy or a function (error) => boolean', policy);
}

function buildCache(
  value: AuthorizationServiceOptions['cache'],
  clock: Clock,
): DecisionCache | undefined {
  if (value === false) return undefined;
  if (value === undefined) return new DecisionCache({ clock });
  if (value instanceof DecisionCache) return value;
  requireObject(`${OWNER} cache`, value);
  return new DecisionCache({ ...value, clock: value.clock ?? clock });
}
