import type { ClamdEndpoint } from '../clamav/clamd-client.js';
import { UsageError } from './usage-error.js';

const CLAMD_PORT = 3310;

/**
 * `--clamav`: a unix socket is anything with a `/` (`./clamd.sock` for one in this
 * directory); otherwise `host`, `host:port` or `[v6]:port`, on clamd's port 3310 when none is
 * given, so `localhost` means TCP and not a socket file named "localhost". `source` is
 * where the value came from, for the message.
 */
export function clamdAddress(spec: string, source = '--clamav'): ClamdEndpoint {
  if (spec.includes('/')) return { socketPath: spec };
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(spec);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined) {
    throw new UsageError(
      `${source} ${JSON.stringify(spec)}: expected host, host:port, [ipv6]:port, or a unix socket path (anything with a "/", like ./clamd.sock)`,
    );
  }
  return { host, port: match[3] === undefined ? CLAMD_PORT : Number(match[3]) };
}

/** How the address reads in messages: `localhost:3310`, `[::1]:3310`, or the socket path. */
export function describeAddress(endpoint: ClamdEndpoint): string {
  if ('socketPath' in endpoint) return endpoint.socketPath;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}
