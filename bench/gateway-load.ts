/**
 * The bench's handle on case 12's HTTP client process (gateway-client.ts): forks it, hands it
 * the files and the token once, asks it for one slice at a time, and stops it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Slice } from './gateway-pool.js';
import { StateError } from './harness.js';

export type ClientRequest =
  | {
      type: 'setup';
      /** The scans route, e.g. http://127.0.0.1:4321/v1/tenants/bench/scans. */
      endpoint: string;
      token: string;
      /** The files, read by the client once; file i is uploaded as `file-i.bin`. */
      paths: readonly string[];
      /** Keep-alive connections at most: the most files the bench sends at once. */
      sockets: number;
    }
  | { type: 'run'; indexes: readonly number[]; inFlight: number };

export type ClientReply =
  | { type: 'ready' }
  | ({ type: 'ran' } & Slice)
  | { type: 'failed'; message: string };

export interface LoadClientOptions {
  endpoint: string;
  token: string;
  paths: readonly string[];
  sockets: number;
}

const CLIENT = fileURLToPath(new URL('./gateway-client.ts', import.meta.url));
/** tsx's loader as a file URL: `--import tsx` would resolve from whatever the cwd is. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** How long the client has to close its sockets and exit before it is killed. */
const EXIT_GRACE_MS = 5_000;
/** The tail of the client's stderr kept for the error when it dies. */
const STDERR_KEPT = 2_000;

export class LoadClient {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private stderr = '';
  private waiting: ((reply: ClientReply) => void) | undefined;

  private constructor() {
    // Through tsx as the bench itself runs, never the host's flags (an inspector port, vitest's);
    // stdout ignored, so nothing lands in the report.
    this.child = fork(CLIENT, [], {
      execArgv: ['--import', TSX],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_KEPT);
    });
    this.child.on('message', (reply: ClientReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(reply);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const waiting = this.waiting;
        this.waiting = undefined;
        const how = signal === null ? `code ${code}` : `signal ${signal}`;
        waiting?.({
          type: 'failed',
          message: `the client process exited (${how}) ${this.stderr.trim()}`.trim(),
        });
        resolve();
      });
    });
    this.child.once('error', (error) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.({ type: 'failed', message: `the client process: ${error.message}` });
    });
  }

  static async start(options: LoadClientOptions): Promise<LoadClient> {
    const client = new LoadClient();
    try {
      await client.ask({ type: 'setup', ...options });
      return client;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** Uploads the files of `indexes`, `inFlight` at once; latencies and wall time as the client saw them. */
  async run(indexes: readonly number[], inFlight: number): Promise<Slice> {
    const reply = await this.ask({ type: 'run', indexes, inFlight });
    if (reply.type !== 'ran')
      throw new StateError(`case gateway: the client answered ${reply.type}`);
    const { seconds, latencies, refused } = reply;
    return { seconds, latencies, refused };
  }

  /** Disconnects, which the client takes as its cue to exit; killed if it has not in time. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private ask(message: ClientRequest): Promise<ClientReply> {
    if (this.waiting !== undefined) throw new StateError('case gateway: one slice at a time');
    return new Promise((resolve, reject) => {
      this.waiting = (reply) => {
        if (reply.type === 'failed') reject(new StateError(`case gateway: ${reply.message}`));
        else resolve(reply);
      };
      this.child.send(message, (error) => {
        if (error !== null && this.waiting !== undefined) {
          this.waiting = undefined;
          reject(new StateError(`case gateway: cannot reach the client process: ${error.message}`));
        }
      });
    });
  }
}
