export {
  type AuthorizationMetricsOptions,
  type AuthorizationSource,
  type AuthorizationSourceStats,
  collectAuthorizationMetrics,
} from './authorization-metrics.js';
export {
  type BreakerMetricsOptions,
  collectBreakerMetrics,
  OVERFLOW_WARNING,
} from './breaker-metrics.js';
export type { Collector } from './collector.js';
export { MetricNameTakenError } from './errors.js';
export { DEFAULT_BUCKETS, type WarnLogger } from './options.js';
export {
  collectScanMetrics,
  type ScanMetricsOptions,
  type ScanSource,
  type ScanSourceStats,
} from './scan-metrics.js';
export type { StatsCollectorOptions } from './stats-collector.js';
