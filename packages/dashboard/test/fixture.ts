import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakerRegistry } from '@breakwater/core';
import { createDashboard, type DashboardHandler, type DashboardOptions } from '../src/index.js';

/** A dashboard served by node:http on a free loopback port. */
export interface DashboardServer {
  /** The dashboard's page: `http://127.0.0.1:<port><basePath>` (ends with "/"). */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly registry: BreakerRegistry;
  readonly handler: DashboardHandler;
  readonly server: Server;
  /** Closes the dashboard (its streams end), every connection and the server. */
  close(): Promise<void>;
}

/**
 * Starts a real node:http server on 127.0.0.1:0 with `createDashboard(options)` as its only
 * handler. `registry` defaults to a new BreakerRegistry, disposed on close (a given one is
 * the caller's).
 */
export async function startDashboardServer(
  options: Partial<DashboardOptions> = {},
): Promise<DashboardServer> {
  const registry = options.registry ?? new BreakerRegistry();
  const handler = createDashboard({ ...options, registry });
  const server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: origin + (options.basePath ?? '/').replace(/\/?$/, '/'),
    origin,
    registry,
    handler,
    server,
    async close() {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (options.registry === undefined) registry.dispose();
    },
  };
}
