import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ScanError } from '../errors.js';
import type { FromYaraWorker, YaraMatch, YaraWorkerData } from './yara-protocol.js';
import type { YaraVariables } from './yara-variables.js';

/** What one scan hands the worker: bytes held in memory, or the path of a file (a spool copy). */
export type YaraInput = { readonly variables: YaraVariables } & (
  | { readonly bytes: Uint8Array }
  | { readonly path: string }
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
 * One YARA-X worker thread, started on the first scan, scanning one input at a time (the
 * others wait in order). A running scan cannot be interrupted, so an abort (a caller's, or a
 * timeout's) terminates the worker and rejects at once with the signal's reason; the next scan
 * starts a fresh worker. The worker is unref'd while idle, so it never keeps a process alive,
 * and ref'd while it scans, like any awaited work.
 */
export class YaraThread {
  private worker: Worker | undefined;
  private running: Job | undefined;
  private readonly queue: Job[] = [];
  private nextId = 1;

  constructor(
    private readonly engine: string,
    private readonly data: YaraWorkerData,
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

  /** Ends the worker; scans running or waiting reject as `cancelled`. Later scans start a new one. */
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
    let worker: Worker;
    try {
      worker = this.worker ?? this.start();
    } catch (error) {
      this.running = undefined;
      this.settle(job, this.failure(`the worker thread did not start: ${messageOf(error)}`, error));
      this.pump();
      return;
    }
    worker.ref();
    const { input } = job;
    const { id } = job;
    const { variables } = input;
    worker.postMessage(
      'path' in input ? { id, variables, path: input.path } : { id, variables, bytes: input.bytes },
    );
  }

  private start(): Worker {
    const worker = startWorker(this.data);
    worker.unref();
    worker.on('message', (answer: FromYaraWorker) => this.answered(worker, answer));
    worker.on('error', (error) =>
      this.lost(worker, `the worker thread failed: ${error.message}`, error),
    );
    worker.on('exit', (code) => this.lost(worker, `the worker thread exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private answered(worker: Worker, answer: FromYaraWorker): void {
    const job = this.running;
    if (worker !== this.worker || job === undefined || job.id !== answer.id) return;
    this.running = undefined;
    worker.unref();
    if (answer.error === undefined) this.settle(job, undefined, answer.matches ?? []);
    else this.settle(job, this.failure(`YARA-X failed to scan: ${answer.error}`));
    this.pump();
  }

  /** The worker died by itself: the scan it ran fails, the next starts a new worker. */
  private lost(worker: Worker, message: string, cause?: unknown): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    const job = this.running;
    this.running = undefined;
    if (job !== undefined) this.settle(job, this.failure(message, cause));
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

  private stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return Promise.resolve();
    return worker.terminate().then(() => undefined);
  }

  private settle(job: Job, error: unknown, matches?: YaraMatch[]): void {
    job.signal?.removeEventListener('abort', job.onAbort);
    if (matches === undefined) job.reject(error);
    else job.resolve(matches);
  }

  private failure(message: string, cause?: unknown): ScanError {
    return new ScanError('internal', `${this.engine}: ${message}`, {
      engine: this.engine,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * The worker's entry beside this module: built JavaScript next to built JavaScript (tsup's
 * `yara-worker` entry, beside dist/index.js), or the TypeScript source when this module itself
 * runs from source (vitest, tsx). Node 20 does not apply `--import tsx` to a worker's entry, so
 * from source a small script registers tsx in the worker first, then imports the entry.
 */
function startWorker(workerData: YaraWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./yara-worker.js', here), { workerData });
  const entry = new URL('./yara-worker.ts', here).href;
  const tsx = JSON.stringify(tsxEsmApi(here));
  const boot = `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** tsx's ESM API (`tsx/esm/api`, import condition), read from its exports: require() would give the CJS build. */
function tsxEsmApi(here: string): string {
  const manifest = createRequire(here).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const api = exports['./esm/api']?.import.default ?? './dist/esm/api/index.mjs';
  return new URL(api, pathToFileURL(manifest)).href;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
