import type { Readable, Writable } from 'node:stream';

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

// SIGHUP too: a closed terminal hangs its jobs up, and without a listener that ends node at
// once, without the teardown (spooled uploads and the demo's files would stay). A listener also
// overrides `nohup`'s ignored SIGHUP: run a long-lived gateway under a supervisor or `setsid`.
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What the command line touches outside itself, so tests can run it in-process. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable & { readonly isTTY?: boolean | undefined };
  readonly env: NodeJS.ProcessEnv;
  /** Resolves `--config` and, without a file, the configuration's relative paths. */
  readonly cwd: string;
  /** Calls `listener` on each of `signals` until the returned function is called. */
  onStopSignal(listener: (signal: StopSignal) => void, signals: readonly StopSignal[]): () => void;
  /** Ends the process now, whatever is still pending (a second signal while stopping). */
  exitNow(code: number): void;
  /** Milliseconds from any fixed origin: how far apart two signals came. */
  now(): number;
}

export function processIo(): CliIo {
  return {
    stdout: survivesLostTerminal(process.stdout),
    stderr: survivesLostTerminal(process.stderr),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onStopSignal(listener, signals) {
      for (const signal of signals) process.on(signal, listener);
      return () => {
        for (const signal of signals) process.off(signal, listener);
      };
    },
    exitNow(code) {
      process.exit(code);
    },
    now: () => performance.now(),
  };
}

/**
 * A closed terminal fails every later write with EIO (a pipe whose reader left, with EPIPE), and
 * an error nobody listens for ends the process: at SIGHUP that was the "stopping" line itself,
 * so the teardown never ran and an upload's spool copy stayed. What cannot be shown is dropped;
 * any other error is still thrown.
 */
export function survivesLostTerminal<S extends Writable>(stream: S): S {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EIO' && error.code !== 'EPIPE') throw error;
  });
  return stream;
}

/**
 * A second signal this soon after the first is a copy of it, not a person pressing Ctrl-C again:
 * a terminal signals the whole process group, and `npm start` relays the same SIGINT to its child
 * a few ms later. Taken as "exit now", it cut the teardown short and left files behind.
 */
export const RELAYED_SIGNAL_MS = 1_000;

/**
 * Calls `onFirst` on the first stop signal, and ends the process at once on a later one (one
 * within {@link RELAYED_SIGNAL_MS} of the first is ignored).
 */
export function onStop(
  io: CliIo,
  signals: readonly StopSignal[],
  onFirst: () => void,
  interruptedCode: number,
): () => void {
  let firstAt: number | undefined;
  return io.onStopSignal(() => {
    if (firstAt === undefined) {
      firstAt = io.now();
      onFirst();
    } else if (io.now() - firstAt >= RELAYED_SIGNAL_MS) {
      io.exitNow(interruptedCode);
    }
  }, signals);
}
