export {
  type AuthorizationCounts,
  type AuthorizationSource,
  type InstrumentAuthorizationOptions,
  instrumentAuthorization,
} from './authorization-instruments.js';
export { type InstrumentBreakersOptions, instrumentBreakers } from './breaker-instruments.js';
export { DURATION_BUCKETS, type Instrumentation, type MeterOptions } from './meter.js';
export {
  type InstrumentScansOptions,
  instrumentScans,
  type ScanCounts,
  type ScanSource,
} from './scan-instruments.js';
