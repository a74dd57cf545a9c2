import { parseClamdAddress } from '../clamav/clamd-address.js';
import type { ClamdEndpoint } from '../clamav/clamd-client.js';
import { UsageError } from './usage-error.js';

/** `--clamav` (or `source`) read as clamd's address; a UsageError naming the source if it is none. */
export function clamdAddress(spec: string, source = '--clamav'): ClamdEndpoint {
  const endpoint = parseClamdAddress(spec);
  // A host and a port of digits, but out of range: say so rather than list the forms.
  const port = /^(?:\[[^\]]+\]|[^:[\]/]+):(\d+)$/.exec(spec)?.[1];
  if (endpoint === undefined && port !== undefined) {
    throw new UsageError(
      `${source} ${JSON.stringify(spec)}: the port must be 1 to 65535, got ${port}`,
    );
  }
  if (endpoint === undefined) {
    throw new UsageError(
      `${source} ${JSON.stringify(spec)}: expected host, host:port, [ipv6]:port, or a unix socket path (anything with a "/", like ./clamd.sock)`,
    );
  }
  return endpoint;
}
