import { parseClamdAddress } from '../clamav/clamd-address.js';
import type { ClamdEndpoint } from '../clamav/clamd-client.js';
import { UsageError } from './usage-error.js';

/** `--clamav` (or `source`) read as clamd's address; a UsageError naming the source if it is none. */
export function clamdAddress(spec: string, source = '--clamav'): ClamdEndpoint {
  const endpoint = parseClamdAddress(spec);
  if (endpoint === undefined) {
    throw new UsageError(
      `${source} ${JSON.stringify(spec)}: expected host, host:port, [ipv6]:port, or a unix socket path (anything with a "/", like ./clamd.sock)`,
    );
  }
  return endpoint;
}
