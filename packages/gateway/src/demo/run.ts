import type { Writable } from 'node:stream';

export interface DemoOptions {
  /** Default 127.0.0.1. */
  readonly host: string;
  /** Default 8080. */
  readonly port: number;
  /** False with `--no-traffic`: serve only, no traffic generator and no fault phases. */
  readonly traffic: boolean;
  /** `--duration <s>`: stop by itself after this many seconds and print the summary table. */
  readonly durationSeconds: number | undefined;
  /** Where the demo prints (the terminal). */
  readonly out: Writable;
  /** Ends the demo (SIGINT/SIGTERM): it stops everything it started and prints the summary. */
  readonly signal: AbortSignal;
}

// Contract stub: the demo engineer replaces this file. Resolves with the process's exit code.
export async function runDemo(_options: DemoOptions): Promise<number> {
  throw new Error('runDemo: not built yet');
}
