export {
  type AuthorizationMetricsOptions,
  type AuthorizationSource,
  collectAuthorizationMetrics,
} from './authorization-metrics.js';
export {
  type BreakerMetricsOptions,
  type Collector,
  collectBreakerMetrics,
  OVERFLOW_WARNING,
} from './breaker-metrics.js';
export { MetricNameTakenError } from './errors.js';
export { DEFAULT_BUCKETS, type WarnLogger } from './options.js';
export { collectScanMetrics, type ScanMetricsOptions, type ScanSource } from './scan-metrics.js';
