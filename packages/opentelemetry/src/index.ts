export { type InstrumentBreakersOptions, instrumentBreakers } from './breaker-instruments.js';
export { DURATION_BUCKETS, type Instrumentation } from './meter.js';
