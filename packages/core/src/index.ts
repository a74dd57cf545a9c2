export { backoff, type ExponentialBackoffOptions } from './backoff.js';
export { CircuitBreaker, type Operation, type Transition } from './breaker.js';
export { type Clock, MAX_TIMER_MS, ManualClock, systemClock, type TimerHandle } from './clock.js';
export {
  BreakwaterError,
  CircuitOpenError,
  type RejectingState,
  TimeoutError,
} from './errors.js';
export type { BreakerEventName, BreakerEvents, Listener, TransitionReason } from './events.js';
export {
  classifyError,
  type ErrorCategory,
  FailurePolicy,
  type FailurePolicyOptions,
} from './failure-policy.js';
export {
  FallbackBehavior,
  type FallbackHandler,
  type FallbackInfo,
  type FallbackReason,
} from './fallback.js';
export {
  type CircuitBreakerOptions,
  type Logger,
  type OpenDurationContext,
  presets,
} from './options.js';
export { type AsyncMethodKeys, type Protected, type ProtectOptions, protect } from './protect.js';
export {
  type BreakerHealth,
  BreakerRegistry,
  type BreakerRegistryOptions,
  type Criticality,
  type HealthStatus,
  type RegistryHealth,
  type RegistrySnapshot,
} from './registry.js';
export { MAX_RETRY_AFTER_MS, parseRetryAfter, retryAfterOf } from './retry-after.js';
export type { BreakerSnapshot } from './snapshot.js';
export type { BreakerMetrics, BreakerState, StateName } from './state.js';
export type { TryResult } from './try-result.js';
export { untilAborted } from './until-aborted.js';
