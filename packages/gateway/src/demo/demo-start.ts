import { createServer } from 'node:net';

/** Something the demo needs could not start; the message says what to do about it. */
export class DemoStartError extends Error {
  readonly code = 'BREAKWATER_DEMO_START';
}
DemoStartError.prototype.name = 'DemoStartError';

function inUse(host: string, port: number): DemoStartError {
  return new DemoStartError(
    `port ${port} on ${host} is in use: stop what listens there, or pick another port with --port <n>`,
  );
}

/** The error `startGateway` failed with, told as a port in use when it was one; else undefined. */
export function portInUse(error: unknown, host: string, port: number): DemoStartError | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EADDRINUSE') return inUse(host, port);
  }
  return undefined;
}

/**
 * Resolves when `host:port` can be listened on (port 0 always can), so that a port in use is
 * said at once, before SpiceDB is started for nothing; rejects with a DemoStartError otherwise.
 */
export function portFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? inUse(host, port)
          : new DemoStartError(`cannot listen on ${host}:${port}: ${error.message}`),
      ),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
