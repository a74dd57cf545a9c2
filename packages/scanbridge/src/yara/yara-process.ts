import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
}

/**
 * One YARA-X scanning process (child_process.fork), started on the first scan, scanning one
 * input at a time (the others wait in order): YARA-X reads a file whole, and that memory is
 * the process's, never its host's. A running scan cannot be interrupted, so an abort (a
 * caller's, or a timeout's) kills the process and rejects at once with the signal's reason;
 * the next scan starts a fresh one. A process that dies by itself fails its scan as
 * `engine_unavailable` (a breaker counts it). It is unref'd while idle, so it never keeps its
 * host alive, and it exits when its host does (its IPC channel closes).
 */
export class YaraProcess {
  private child: ChildProcess | undefined;
  private running: Job | undefined;
  private readonly queue: Job[] = [];
  private nextId = 1;

  constructor(
    private readonly engine: string,
    private readonly rules: YaraRulesMessage,
  ) {}

  scan(input: YaraInput, signal: AbortSignal | undefined): Promise<YaraMatch[]> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const onAbort = (): void => this.abort(job);
      const job: Job = { id, input, signal, onAbort, resolve, reject };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /** Ends the process; scans running or waiting reject as `cancelled`. Later scans start a new one. */
  async close(): Promise<void> {
    const closed = new ScanError('cancelled', `${this.engine}: the scanner was closed`, {
      engine: this.engine,
    });
    for (const job of this.queue.splice(0)) this.settle(job, closed);
    if (this.running !== undefined) this.settle(this.running, closed);
    this.running = undefined;
    await this.stop();
  }

  private pump(): void {
    if (this.running !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.running = job;
    let child: ChildProcess;
    try {
      // A process whose channel closed while it was idle is gone, though its exit is not yet heard.
      if (this.child?.connected === false) void this.stop();
      child = this.child ?? this.start();
    } catch (error) {
      this.running = undefined;
      this.settle(
        job,
        this.unavailable(`the scanning process did not start: ${messageOf(error)}`, error),
      );
      this.pump();
      return;
    }
    held(child, true);
    const { id, input } = job;
    const { variables } = input;
    const message: YaraScanMessage =
      'path' in input
        ? { type: 'scan', id, variables, path: input.path, ...input.expected }
        : { type: 'scan', id, variables, bytes: input.bytes };
    child.send(message, (error) => {
      if (error !== null)
        this.lost(child, `the scanning process took no request: ${error.message}`, error);
    });
  }

  private start(): ChildProcess {
    const child = forkChild();
    held(child, false);
    child.on('message', (answer: FromYaraChild) => this.answered(child, answer));
    child.on('error', (error) =>
      this.lost(child, `the scanning process failed: ${error.message}`, error),
    );
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
    const job = this.running;
    if (child !== this.child || job === undefined || job.id !== answer.id) return;
    this.running = undefined;
    held(child, false);
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

  /** The process died by itself: the scan it ran fails, the next starts a new process. */
  private lost(child: ChildProcess, message: string, cause?: unknown): void {
    if (child !== this.child) return;
    this.child = undefined;
    child.kill('SIGKILL');
    const job = this.running;
    this.running = undefined;
    if (job !== undefined) this.settle(job, this.unavailable(message, cause));
    this.pump();
  }

  private abort(job: Job): void {
    const reason = job.signal?.reason;
    if (this.running === job) {
      this.running = undefined;
      void this.stop();
    } else {
      const at = this.queue.indexOf(job);
      if (at >= 0) this.queue.splice(at, 1);
    }
    this.settle(job, reason ?? new Error('aborted'));
    this.pump();
  }

  /** Kills the process (a scan cannot be stopped otherwise) and waits until it is gone. */
  private stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      // Whoever awaits this is awaiting the exit: an idle, unref'd process would let the host
      // end first, the promise unsettled.
      child.ref();
      child.kill('SIGKILL');
    });
  }

  private settle(job: Job, error: unknown, matches?: YaraMatch[]): void {
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
 * limit meant for the host): only what loading the entry needs.
 */
function forkChild(): ChildProcess {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './yara-child.ts' : './yara-child.js', here));
  return fork(entry, [], {
    serialization: 'advanced',
    execArgv: fromSource ? ['--import', tsxLoader(here)] : [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
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
