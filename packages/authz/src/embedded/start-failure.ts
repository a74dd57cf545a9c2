import type { EmbeddedStartPhase } from './errors.js';

/** A step of the server process's start that failed; it reaches the parent as `failed`. */
export class StartFailure extends Error {
  constructor(
    readonly phase: EmbeddedStartPhase,
    message: string,
  ) {
    super(message);
  }
}
