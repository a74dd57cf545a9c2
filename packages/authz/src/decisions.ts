import type { Decision, FallbackReason } from './types.js';

// Decisions are frozen and shared: a check hands out one of these rather than building its own,
// and nobody can turn a shared deny into an allow by writing to it.
export const CACHE_ALLOWED: Decision = Object.freeze({
  allowed: true,
  source: 'cache',
  reason: 'has_permission',
});
export const CACHE_DENIED: Decision = Object.freeze({
  allowed: false,
  source: 'cache',
  reason: 'no_permission',
});
export const SPICEDB_ALLOWED: Decision = Object.freeze({
  allowed: true,
  source: 'spicedb',
  reason: 'has_permission',
});
export const SPICEDB_DENIED: Decision = Object.freeze({
  allowed: false,
  source: 'spicedb',
  reason: 'no_permission',
});

/** A fallback strategy's six possible decisions (reason x allowed), made once per service. */
export class FallbackDecisions {
  private readonly allowed: { readonly [R in FallbackReason]: Decision };
  private readonly denied: { readonly [R in FallbackReason]: Decision };

  constructor(strategy: string) {
    const make = (reason: FallbackReason, allowed: boolean): Decision =>
      Object.freeze({ allowed, source: 'fallback', reason, strategy });
    this.allowed = {
      circuit_open: make('circuit_open', true),
      backend_error: make('backend_error', true),
      timeout: make('timeout', true),
    };
    this.denied = {
      circuit_open: make('circuit_open', false),
      backend_error: make('backend_error', false),
      timeout: make('timeout', false),
    };
  }

  get(reason: FallbackReason, allowed: boolean): Decision {
    return allowed ? this.allowed[reason] : this.denied[reason];
  }
}
