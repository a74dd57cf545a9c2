export { EmbeddedSpiceDbError, type EmbeddedStartPhase } from './errors.js';
export type { EmbeddedSpiceDb } from './handle.js';
export type { EmbeddedSpiceDbOptions } from './options.js';
export { startEmbeddedSpiceDb } from './start.js';
