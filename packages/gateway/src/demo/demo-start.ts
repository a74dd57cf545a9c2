import { createServer } from 'node:net';

/** A step of the demo's start that failed: its message says which one, and why. */
export class DemoStartError extends Error {
  readonly code = 'BREAKWATER_DEMO_START';
}
DemoStartError.prototype.name = 'DemoStartError';

/** `run`, whose failure becomes a DemoStartError naming `what` could not start. */
export async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new DemoStartError(`could not start ${what}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function inUse(host: string, port: number): Error {
  return new Error(
    `port ${port} on ${host} is in use: stop what listens there, or pick another port with --port <n>`,
  );
}

/** The error `startGateway` failed with, told as a port in use when it was one; else undefined. */
export function portInUse(error: unknown, host: string, port: number): Error | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EADDRINUSE') return inUse(host, port);
  }
  return undefined;
}

/**
 * Resolves when `host:port` can be listened on (port 0 always can), so that a port in use is
 * said at once, before SpiceDB is started for nothing.
 */
export function portFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? inUse(host, port) : error),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
