import type { Readable, Writable } from 'node:stream';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** What the command line touches outside itself, so tests can run it in-process. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable & { readonly isTTY?: boolean | undefined };
  readonly env: NodeJS.ProcessEnv;
  /** Resolves `--config` and, without a file, the configuration's relative paths. */
  readonly cwd: string;
  /** Calls `listener` on every SIGINT and SIGTERM until the returned function is called. */
  onStopSignal(listener: (signal: StopSignal) => void): () => void;
  /** Ends the process now, whatever is still pending (a second signal while stopping). */
  exitNow(code: number): void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onStopSignal(listener) {
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
      };
    },
    exitNow(code) {
      process.exit(code);
    },
  };
}

/** Calls `onFirst` on the first stop signal, and ends the process at once on a second. */
export function onStop(io: CliIo, onFirst: () => void, interruptedCode: number): () => void {
  let stopping = false;
  return io.onStopSignal(() => {
    if (stopping) {
      io.exitNow(interruptedCode);
      return;
    }
    stopping = true;
    onFirst();
  });
}
