/**
 * How fresh a check's answer must be, in SpiceDB's terms. `minimize_latency` lets SpiceDB answer
 * from its caches; the other two demand data at least as new as a write, so the decision cache
 * never answers them (a cached decision cannot prove it is that fresh).
 */
export type Consistency =
  | 'minimize_latency'
  | 'fully_consistent'
  | { readonly atLeastAsFresh: string };

/** One permission check: may `subject` do `permission` on `resource`? */
export interface CheckRequest {
  /** `type:id` or `type:id#relation`, e.g. `user:alice` or `group:eng#member`. */
  readonly subject: string;
  /** `type:id`, e.g. `document:readme`; never a wildcard. */
  readonly resource: string;
  /** A permission or relation of the resource's definition, e.g. `read`. */
  readonly permission: string;
  readonly consistency?: Consistency | undefined;
}

/**
 * What answers permission checks: SpiceDB through {@link SpiceDbChecker}, or anything else that
 * speaks the same language. `check` resolves `true` for "has permission" and `false` for "no
 * permission" (both successful calls); it rejects only when it could not find out.
 */
export interface PermissionChecker {
  /**
   * What the checker sends for a check that asks no consistency of its own (SpiceDbChecker's
   * `consistency` option). The service reads it once, at construction: when it is not
   * `minimize_latency` (absent means that), such checks are neither cached nor shared, as if
   * each asked it outright. A checker that wraps another must pass the inner one's on: without
   * it, a strict default below would be cached as `minimize_latency`.
   */
  readonly consistency?: Consistency | undefined;
  check(req: CheckRequest, signal: AbortSignal): Promise<boolean>;
  /** One round trip for many checks, answers in the order asked. */
  checkMany?(reqs: readonly CheckRequest[], signal: AbortSignal): Promise<boolean[]>;
  /** Resolves when the backend answers at all; rejects with why it does not. */
  health(signal: AbortSignal): Promise<void>;
}

/** Where a decision came from. */
export type DecisionSource = 'cache' | 'spicedb' | 'fallback';

/** Why the fallback strategy was asked instead of SpiceDB. */
export type FallbackReason = 'circuit_open' | 'backend_error' | 'timeout';

/**
 * An authorization decision. `reason` is `has_permission` / `no_permission` for an answer from
 * SpiceDB (fresh or cached), or the {@link FallbackReason} when the fallback decided; `strategy`
 * names the fallback strategy, and is present only then.
 */
export interface Decision {
  readonly allowed: boolean;
  readonly source: DecisionSource;
  readonly reason: string;
  readonly strategy?: string;
}

/** What a fallback strategy is told about the check it must decide. */
export interface FallbackContext {
  readonly reason: FallbackReason;
  /** The backend's error, for `backend_error` and `timeout`. */
  readonly error?: unknown;
  /**
   * The cache's last decision for this exact check, fresh or expired but still within
   * `staleTtl`; `undefined` when there is none (or no cache).
   */
  readonly cached: boolean | undefined;
}

/**
 * A fallback strategy: decides a check SpiceDB could not answer. Made by `FallbackStrategy.*`.
 * `decide` must not throw; the service denies if it does, or returns anything but a boolean.
 */
export interface FallbackDecider {
  /** Stable, snake_case: `deny_all`, `allow_health_only`, `allow_read_only`, `use_cached_rules`, `custom`. */
  readonly name: string;
  decide(req: CheckRequest, context: FallbackContext): boolean;
}
