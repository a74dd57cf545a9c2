import type { Output } from './render.js';

/** process.stdout or process.stderr, and how writing to it went. */
export interface ProcessOutput extends Output {
  /** Once every write so far is done: the first one that failed, if any did. */
  failure(): Promise<NodeJS.ErrnoException | undefined>;
}

/**
 * process.stdout or process.stderr for the command line. A failed write (a reader that went
 * away, a full disk) never throws: it is kept for `failure()`, later writes are dropped, and
 * the run goes on to its end, where the entry point decides what the failure means.
 */
export function processOutput(stream: NodeJS.WriteStream): ProcessOutput {
  let failed: NodeJS.ErrnoException | undefined;
  let lastWrite: Promise<void> = Promise.resolve();
  const fail = (error: NodeJS.ErrnoException | null | undefined) => {
    if (error !== null && error !== undefined) failed ??= error;
  };
  // Errors are also emitted on the stream; a listener keeps them from being thrown.
  stream.on('error', fail);
  return {
    write: (text: string) => {
      if (failed !== undefined) return false;
      lastWrite = new Promise((resolve) =>
        stream.write(text, (error) => {
          fail(error);
          resolve();
        }),
      );
      return true;
    },
    failure: async () => {
      await lastWrite;
      return failed;
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}
