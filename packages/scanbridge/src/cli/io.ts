import type { Output } from './render.js';

/** What the command line touches outside itself, so tests can run it in-process. */
export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
}
