/** Which step of starting the embedded SpiceDB server failed. */
export type EmbeddedStartPhase =
  | 'spawn'
  | 'import'
  | 'engine'
  | 'schema'
  | 'relationships'
  | 'listen'
  | 'exit'
  | 'timeout';

/**
 * `startEmbeddedSpiceDb` could not bring the server up: the message says which step failed and,
 * for the engine's own refusals (a schema that does not parse, a relationship the schema has no
 * relation for), quotes SpiceDB's words.
 */
export class EmbeddedSpiceDbError extends Error {
  readonly code = 'BREAKWATER_EMBEDDED_SPICEDB_START';
  readonly phase: EmbeddedStartPhase;

  constructor(phase: EmbeddedStartPhase, message: string) {
    super(message);
    this.phase = phase;
  }
}
EmbeddedSpiceDbError.prototype.name = 'EmbeddedSpiceDbError';
