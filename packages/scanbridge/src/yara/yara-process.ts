import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ScanError } from '../errors.js';
import type {
  FromYaraChild,
  YaraExpected,
  YaraMatch,
  YaraRulesMessage,
  YaraScanMessage,
} from './yara-protocol.js';
import type { YaraVariables } from './yara-variables.js';

/**
 * What one scan hands the process: bytes held in memory, a private copy to scan by path, or a
 * file to read again, which must still be what was hashed.
 */
export type YaraInput = { readonly variables: YaraVariables } & (
  | { readonly bytes: Uint8Array }
  | { readonly path: string; readonly expected?: YaraExpected }
);

interface Job {
  readonly id: number;
  readonly input: YaraInput;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  readonly resolve: (matches: YaraMatch[]) => void;
  readonly reject: (error: unknown) => void;
  /** Answered, failed or given up on: whatever comes later for it is dropped. */
  settled: boolean;
}

/**
 * Requests sent ahead to the process, which takes them in order: the next is there the moment
 * a scan ends, instead of an IPC round trip later (10 KB files, 32 at once: ~10-40% more
 * scans a second than one at a time). Few, since bytes up to 1 MiB travel with each.
 */
const SENT_AHEAD = 4;

/**
 * Heard before its exit when the process dies (Node reads the channel's end first), or when it
 * exits: its exit code or signal is not known yet.
 */
const CHANNEL_CLOSED = 'the scanning process is gone (its channel closed)';

/** Starts a scanning process; forkYaraChild, or in a test one it watches. */
export type StartYaraChild = (engine: string) => ChildProcess;

/**
 * One YARA-X scanning process (child_process.fork), started on the first scan, scanning one
 * input at a time, in order: YARA-X reads a file whole, and that memory is the process's,
 * never its host's. A running scan cannot be interrupted, so an abort (a caller's, or a
 * timeout's) kills the process and rejects at once with the signal's reason; the scans sent
 * behind it go to a fresh process. A process that is lost by itself (it exits, is killed, or
 * its channel closes, whichever is heard first) fails the scan it was running as
 * `engine_unavailable` (a breaker counts it). It is unref'd while idle, so it never keeps its
 * host alive, and it exits when its host does (its IPC channel closes).
 *
 * One rule keeps the bookkeeping right: `sent` belongs to `child`, and the two change only
 * together, in `retire()`, which every way of leaving a process goes through. A process once
 * retired is never heard again (its answers and events are dropped).
 */
export class YaraProcess {
  private child: ChildProcess | undefined;
  /** Sent to `child`, in order; the first is the one it is scanning. */
  private sent: Job[] = [];
  private readonly queue: Job[] = [];
  /** Processes retired and killed, until their exit is heard: close() waits for them. */
  private readonly exiting = new Set<Promise<void>>();
  private nextId = 1;

  constructor(
    private readonly engine: string,
    private readonly rules: YaraRulesMessage,
    private readonly startChild: StartYaraChild = forkYaraChild,
  ) {}

  scan(input: YaraInput, signal: AbortSignal | undefined): Promise<YaraMatch[]> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const onAbort = (): void => this.abort(job);
      const job: Job = { id, input, signal, onAbort, resolve, reject, settled: false };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /**
   * Ends the process and waits until it is gone, with any killed before (by an abort or a
   * timeout); scans running or waiting reject as `cancelled`. Later scans start a new one.
   */
  async close(): Promise<void> {
    const closed = new ScanError('cancelled', `${this.engine}: the scanner was closed`, {
      engine: this.engine,
    });
    const jobs = [...this.retire(), ...this.queue.splice(0)];
    for (const job of jobs) this.settle(job, closed);
    await Promise.all([...this.exiting]);
  }

  private pump(): void {
    while (this.sent.length < SENT_AHEAD) {
      const job = this.queue.shift();
      if (job === undefined) return;
      let child: ChildProcess;
      try {
        child = this.live();
      } catch (error) {
        const message = `the scanning process did not start: ${messageOf(error)}`;
        this.settle(job, error instanceof ScanError ? error : this.unavailable(message, error));
        continue;
      }
      this.sent.push(job);
      held(child, true);
      const { id, input } = job;
      const { variables } = input;
      const message: YaraScanMessage =
        'path' in input
          ? { type: 'scan', id, variables, path: input.path, ...input.expected }
          : { type: 'scan', id, variables, bytes: input.bytes };
      child.send(message, (error) => {
        if (error !== null) {
          this.lost(child, `the scanning process took no request: ${error.message}`, error);
        }
      });
    }
  }

  /**
   * The process, started if there is none. Its channel can close before its 'disconnect' is
   * heard (Node emits it a tick later): a process found so is lost now, like one heard gone.
   */
  private live(): ChildProcess {
    const child = this.child;
    if (child !== undefined && !child.connected) {
      this.lost(child, CHANNEL_CLOSED);
    }
    return this.child ?? this.start();
  }

  private start(): ChildProcess {
    const child = this.startChild(this.engine);
    held(child, false);
    child.on('message', (answer: FromYaraChild) => this.answered(child, answer));
    child.on('error', (error) =>
      this.lost(child, `the scanning process failed: ${error.message}`, error),
    );
    child.on('disconnect', () => this.lost(child, CHANNEL_CLOSED));
    child.on('exit', (code, signal) =>
      this.lost(
        child,
        `the scanning process ${signal === null ? `exited with code ${code}` : `was killed by ${signal}`}`,
      ),
    );
    child.send(this.rules);
    this.child = child;
    return child;
  }

  private answered(child: ChildProcess, answer: FromYaraChild): void {
    if (child !== this.child) return;
    // Answers come in the order the requests went: one that does not is a process gone wrong.
    const job = this.sent[0];
    if (job === undefined || job.id !== answer.id) {
      this.lost(child, `the scanning process answered request ${answer.id} out of turn`);
      return;
    }
    this.sent.shift();
    if (this.sent.length === 0) held(child, false);
    if (answer.error === undefined) this.settle(job, undefined, answer.matches ?? []);
    else if (answer.io === true) {
      const message = `${this.engine}: cannot scan the file as it was read: ${answer.error}`;
      this.settle(job, new ScanError('io', message, { engine: this.engine }));
    } else {
      const message = `${this.engine}: YARA-X failed to scan: ${answer.error}`;
      this.settle(job, new ScanError('internal', message, { engine: this.engine }));
    }
    this.pump();
  }

  /**
   * The process is gone by itself: the scan it was running fails, those sent behind it (not
   * started) go to a new process. Heard again (exit after disconnect), it is already retired.
   */
  private lost(child: ChildProcess, message: string, cause?: unknown): void {
    if (child !== this.child) return;
    const [running, ...behind] = this.retire();
    if (running !== undefined) this.settle(running, this.unavailable(message, cause));
    this.requeue(behind);
    this.pump();
  }

  private abort(job: Job): void {
    if (job.settled) return;
    if (this.sent[0] === job) {
      // The only way to stop a scan; those sent behind it had not started.
      this.requeue(this.retire().slice(1));
    } else {
      // Sent ahead, it is scanned all the same and its answer dropped; waiting, it never goes.
      const at = this.queue.indexOf(job);
      if (at >= 0) this.queue.splice(at, 1);
    }
    this.settle(job, job.signal?.reason ?? new Error('aborted'));
    this.pump();
  }

  /** Back to the front of the queue, in order: those given up on meanwhile are dropped. */
  private requeue(jobs: readonly Job[]): void {
    this.queue.unshift(...jobs.filter((job) => !job.settled));
  }

  /**
   * Leaves the process: kills it (a scan cannot be stopped otherwise), hands back the jobs it
   * had, and keeps its exit for close() to wait on. Nothing it says after is heard.
   */
  private retire(): Job[] {
    const child = this.child;
    const jobs = this.sent;
    this.child = undefined;
    this.sent = [];
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        // A process that never started has no exit to wait for.
        if (child.pid === undefined) child.once('error', () => resolve());
      });
      this.exiting.add(exited);
      void exited.then(() => this.exiting.delete(exited));
      // Whoever awaits the exit is awaiting it: an idle, unref'd process would let the host
      // end first, the promise unsettled. SIGKILL makes it brief.
      child.ref();
      child.kill('SIGKILL');
    }
    return jobs;
  }

  private settle(job: Job, error: unknown, matches?: YaraMatch[]): void {
    if (job.settled) return;
    job.settled = true;
    job.signal?.removeEventListener('abort', job.onAbort);
    if (matches === undefined) job.reject(error);
    else job.resolve(matches);
  }

  private unavailable(message: string, cause?: unknown): ScanError {
    return new ScanError('engine_unavailable', `${this.engine}: ${message}`, {
      engine: this.engine,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/** Busy, the process and its channel keep the host alive like any awaited work; idle, never. */
function held(child: ChildProcess, busy: boolean): void {
  if (busy) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

/**
 * The entry beside this module: built JavaScript next to built JavaScript (tsup's `yara-child`
 * entry, beside dist/index.js), or the TypeScript source through tsx's loader when this module
 * itself runs from source (vitest, tsx). Never the host's own flags (an inspector port, a heap
 * limit meant for the host): only what loading the entry needs. Where setpriv exists, the
 * process gets a parent-death signal; elsewhere it exits on its channel closing alone.
 */
export function forkYaraChild(engine: string): ChildProcess {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './yara-child.ts' : './yara-child.js', here));
  if (!existsSync(entry)) {
    throw new ScanError(
      'configuration',
      `${engine}: the scanning process's entry ${entry} is missing: a bundle of @breakwater/scanbridge must ship dist/yara-child.js beside the file that imports YaraScanner`,
      { engine },
    );
  }
  const node = fromSource ? ['--import', tsxLoader(here)] : [];
  return fork(entry, [], {
    serialization: 'advanced',
    // fork runs `execPath ...execArgv entry`: setpriv then runs Node, in the same process.
    ...(hasSetpriv()
      ? { execPath: SETPRIV, execArgv: ['--pdeathsig', 'KILL', process.execPath, ...node] }
      : { execArgv: node }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

/**
 * util-linux's setpriv (Linux): the kernel kills the scanning process the moment its host
 * dies, even in the middle of a scan, when it could not hear its channel close.
 */
const SETPRIV = '/usr/bin/setpriv';
let setpriv: boolean | undefined;

function hasSetpriv(): boolean {
  setpriv ??= existsSync(SETPRIV);
  return setpriv;
}

/** tsx's loader (its `.` export), as a file URL: `--import tsx` would resolve from the cwd. */
function tsxLoader(here: string): string {
  const manifest = createRequire(here).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const loader = typeof exports['.'] === 'string' ? exports['.'] : './dist/loader.mjs';
  return new URL(loader, pathToFileURL(manifest)).href;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
