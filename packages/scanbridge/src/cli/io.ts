import type { Output } from './render.js';

/** What the command line touches outside itself, so tests can run it in-process. */
export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The arguments as the bytes they were given as, one for each: a name that is not valid
   * UTF-8 has no string of its own. Without them, an argument with a U+FFFD replacement
   * character is refused, since it may stand for such bytes.
   */
  readonly argvBytes?: readonly Buffer[] | undefined;
}
