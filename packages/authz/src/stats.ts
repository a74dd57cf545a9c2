import type { DecisionCacheStats } from './decision-cache.js';
import type { DecisionSource, FallbackReason } from './types.js';

/** Checks decided by one source, by result. */
export interface DecisionCounts {
  readonly allowed: number;
  readonly denied: number;
}

/** Fallback decisions of one strategy, by why SpiceDB did not decide. */
export type FallbackCounts = { readonly [R in FallbackReason]: number };

/**
 * What an {@link AuthorizationService} has done since it was made: every check decided is counted
 * once under its source (so the three sources add up to the checks made), the backend's calls
 * (a bulk call or a call shared by identical checks is one), and the checks refused as malformed.
 */
export interface AuthorizationStats {
  readonly checks: { readonly [S in DecisionSource]: DecisionCounts };
  /** `undefined` when the service has no cache. */
  readonly cache: DecisionCacheStats | undefined;
  /** Keyed by the strategy's name: one key, the service's strategy. */
  readonly fallbacks: { readonly [strategy: string]: FallbackCounts };
  readonly backend: {
    readonly calls: number;
    /** Calls that failed, whatever the reason (timeouts included); refusals of a bad request are not. */
    readonly errors: number;
    /** The calls' durations on the service's clock: enough for a mean and a worst case. */
    readonly latencyMs: { readonly count: number; readonly sum: number; readonly max: number };
  };
  /** Checks refused as the caller's mistake: malformed here, or refused by SpiceDB. */
  readonly requestErrors: number;
}

/** The service's counters: plain numbers bumped in place, so counting allocates nothing. */
export class StatsCounters {
  cacheAllowed = 0;
  cacheDenied = 0;
  spicedbAllowed = 0;
  spicedbDenied = 0;
  fallbackAllowed = 0;
  fallbackDenied = 0;
  circuitOpen = 0;
  backendError = 0;
  timeout = 0;
  calls = 0;
  errors = 0;
  latencySum = 0;
  latencyMax = 0;
  requestErrors = 0;

  decided(source: DecisionSource, allowed: boolean): void {
    if (source === 'cache') {
      if (allowed) this.cacheAllowed++;
      else this.cacheDenied++;
    } else if (source === 'spicedb') {
      if (allowed) this.spicedbAllowed++;
      else this.spicedbDenied++;
    } else if (allowed) this.fallbackAllowed++;
    else this.fallbackDenied++;
  }

  fellBack(reason: FallbackReason): void {
    if (reason === 'circuit_open') this.circuitOpen++;
    else if (reason === 'timeout') this.timeout++;
    else this.backendError++;
  }

  backendCall(durationMs: number, failed: boolean): void {
    this.calls++;
    if (failed) this.errors++;
    this.latencySum += durationMs;
    if (durationMs > this.latencyMax) this.latencyMax = durationMs;
  }

  snapshot(strategy: string, cache: DecisionCacheStats | undefined): AuthorizationStats {
    return {
      checks: {
        cache: { allowed: this.cacheAllowed, denied: this.cacheDenied },
        spicedb: { allowed: this.spicedbAllowed, denied: this.spicedbDenied },
        fallback: { allowed: this.fallbackAllowed, denied: this.fallbackDenied },
      },
      cache,
      fallbacks: {
        [strategy]: {
          circuit_open: this.circuitOpen,
          backend_error: this.backendError,
          timeout: this.timeout,
        },
      },
      backend: {
        calls: this.calls,
        errors: this.errors,
        latencyMs: { count: this.calls, sum: this.latencySum, max: this.latencyMax },
      },
      requestErrors: this.requestErrors,
    };
  }
}
