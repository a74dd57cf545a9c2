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
  // Set by the first stop signal: from then on output that cannot be written is dropped.
  const stop = { seen: false };
  const seen = (): void => {
    stop.seen = true;
  };
  return {
    stdout: survivesLostTerminal(process.stdout, stop),
    stderr: survivesLostTerminal(process.stderr, stop),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onStopSignal(listener, signals) {
      for (const signal of signals) {
        // Before the command's listener: its first act is a "stopping" line.
        process.prependListener(signal, seen);
        process.on(signal, listener);
      }
      return () => {
        for (const signal of signals) {
          process.off(signal, seen);
          process.off(signal, listener);
        }
      };
    },
    exitNow(code) {
      process.exit(code);
    },
    now: () => performance.now(),
  };
}

/**
 * A closed terminal sends SIGHUP and then fails every write with EIO (a pipe whose reader left:
 * EPIPE); an error nobody listens for ends the process, and at SIGHUP that was the "stopping"
 * line itself, so the teardown never ran and an upload's spool copy stayed. Once a stop signal
 * came, what cannot be written is dropped and the teardown goes on. Before it, the error still
 * ends the process, as any other error does: a gateway whose log (its audit trail) is gone must
 * not keep serving, and its supervisor restarts it.
 */
export function survivesLostTerminal<S extends Writable>(
  stream: S,
  stop: { readonly seen: boolean },
): S {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (!stop.seen || (error.code !== 'EIO' && error.code !== 'EPIPE')) throw error;
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
