import type { ChildProcess } from 'node:child_process';
import type { Logger } from '@breakwater/core';
import { RedactedOutput } from './redact.js';

// What a start failure quotes of the server's own output.
const TAIL = 2_000;

// Each of these makes grpc-js (or Node itself) trace to stderr, and grpc-js's server-side traces
// print every call's metadata, the preshared key included.
const TRACING = [
  'GRPC_TRACE',
  'GRPC_VERBOSITY',
  'GRPC_NODE_TRACE',
  'GRPC_NODE_VERBOSITY',
  'NODE_DEBUG',
  'NODE_DEBUG_NATIVE',
];

/** The caller's environment without anything that turns tracing on in the server process. */
export function serverEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of TRACING) delete env[name];
  return env;
}

/**
 * Forwards what the server process writes to `logger.warn`, with the preshared key cut out, and
 * keeps the last of it for a start failure to quote. Returns that tail, also redacted.
 */
export function forwardOutput(
  child: ChildProcess,
  token: string,
  logger: Logger | undefined,
): () => string {
  let tail = '';
  const pending: RedactedOutput[] = [];
  const keep = (text: string): void => {
    if (text === '') return;
    tail = (tail + text).slice(-TAIL);
    logger?.warn({ pid: child.pid, output: text }, 'embedded SpiceDB server wrote output');
  };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    const redacted = new RedactedOutput(token);
    pending.push(redacted);
    // Decoded by the stream, so a character split across two chunks arrives whole.
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => keep(redacted.push(text)));
    stream.once('end', () => keep(redacted.flush()));
  }
  return () => {
    // 'exit' can come before the pipes end: what they still hold belongs in the quote.
    for (const redacted of pending) keep(redacted.flush());
    return tail;
  };
}
