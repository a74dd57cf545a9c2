/**
 * The states of a circuit breaker, as reported in snapshots and events: the three of the
 * state machine, and `disabled` (every call passes through, nothing trips) for operators.
 */
export type StateName = 'closed' | 'open' | 'half_open' | 'disabled';

/** What `breaker.state()` returns: the state as of the breaker's clock, right now. */
export type BreakerState =
  | { readonly name: 'closed'; readonly failureCount: number }
  | {
      readonly name: 'open';
      /** Epoch ms when the breaker opened. */
      readonly openedAt: number;
      /** Epoch ms when it turns half-open; `Infinity` while forced open. */
      readonly until: number;
      /** True when held open by `forceOpen()`. */
      readonly forced: boolean;
    }
  | { readonly name: 'half_open'; readonly successCount: number; readonly probeCount: number }
  | { readonly name: 'disabled' };

/**
 * Counters since construction or the last `reset()`: a call admitted before a reset is not
 * counted, even when it finishes after it.
 */
export interface BreakerMetrics {
  /** Calls that finished or were rejected: always successful + failed + ignored + rejected. */
  readonly totalRequests: number;
  readonly successfulRequests: number;
  /** Calls that failed with an error the failure policy counts. */
  readonly failedRequests: number;
  /** Calls refused without running the operation (open, or half-open with every probe slot taken). */
  readonly rejectedRequests: number;
  /** Calls that failed with an error the failure policy does not count (and cancelled calls). */
  readonly ignoredErrors: number;
  /** Calls that ran past `timeout` (also counted as failed or ignored, as the policy says). */
  readonly timeouts: number;
  /** Times a fallback produced the result instead of the operation. */
  readonly fallbacks: number;
  readonly timesOpened: number;
  readonly timesClosed: number;
  /** In `mode: 'observe'`: times a trip rule fired and the breaker would have opened. */
  readonly timesWouldOpen: number;
  /** successful / (successful + failed); 1 when there were neither. */
  readonly successRate: number;
  /** Failed / calls in the rate window; -1 without a window or below its `minimumCalls`. */
  readonly failureRate: number;
  /** Slow / calls in the rate window; -1 without a window or below its `minimumCalls`. */
  readonly slowCallRate: number;
}
