import type { ClamdEndpoint } from './clamd-client.js';

const CLAMD_PORT = 3310;
const TCP = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/;

/**
 * clamd's address as a person writes it: a unix socket is anything with a `/` (`./clamd.sock`
 * for one in this directory); otherwise `host`, `host:port` or `[v6]:port`, on clamd's port 3310
 * when none is given, so `localhost` means TCP and not a socket file named "localhost".
 * Undefined when it is none of these (or the port is not 1 to 65535).
 */
export function parseClamdAddress(spec: string): ClamdEndpoint | undefined {
  if (spec.includes('/')) return { socketPath: spec };
  const match = TCP.exec(spec);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined) return undefined;
  const port = match[3] === undefined ? CLAMD_PORT : Number(match[3]);
  return port >= 1 && port <= 65_535 ? { host, port } : undefined;
}

/** How the address reads in messages: `localhost:3310`, `[::1]:3310`, or the socket path. */
export function describeClamdAddress(endpoint: ClamdEndpoint): string {
  if ('socketPath' in endpoint) return endpoint.socketPath;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}
