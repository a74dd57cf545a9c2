import {
  describeValue,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { ClamAvScanner } from './clamav-scanner.js';
import { parseClamdAddress } from './clamd-address.js';
import type { ClamdEndpoint } from './clamd-client.js';

/** Where clamd usually listens (Debian/Ubuntu, Fedora), then its default TCP port. */
export const STANDARD_CLAMD: readonly string[] = [
  '/var/run/clamav/clamd.ctl',
  '/run/clamav/clamd.ctl',
  '/var/run/clamd.scan/clamd.sock',
  '127.0.0.1:3310',
];

export interface FindClamdOptions {
  /** How long each candidate has to answer PING, connection included. Default 5 000 ms. */
  readonly timeoutMs?: number | undefined;
  /**
   * Where to look, most wanted first: a unix socket path (anything with a `/`) or `host`,
   * `host:port`, `[v6]:port` (port 3310 when none is given). Default {@link STANDARD_CLAMD}.
   */
  readonly candidates?: readonly string[] | undefined;
}

const OWNER = 'findClamd';
const KNOWN: ReadonlySet<string> = new Set(['timeoutMs', 'candidates']);

/**
 * The first of `candidates`, in their order, where a clamd answers PING with PONG within
 * `timeoutMs`; undefined when none does. Every candidate is asked at once, so looking costs one
 * timeout at most, not one per place.
 */
export async function findClamd(options?: FindClamdOptions): Promise<ClamdEndpoint | undefined> {
  const given: FindClamdOptions = orDefault(options, {});
  requireObject(OWNER, given);
  rejectUnknownKeys(OWNER, given, KNOWN);
  const timeoutMs = integerAtLeast(OWNER, 'timeoutMs', orDefault(given.timeoutMs, 5_000), 1);
  const candidates = orDefault<unknown>(given.candidates, STANDARD_CLAMD);
  if (!Array.isArray(candidates)) {
    throw new TypeError(
      `${OWNER}: option "candidates" must be an array of strings, got ${describeValue(candidates)}`,
    );
  }
  const endpoints = candidates.map((spec, i) => endpointOf(spec, i));
  const answered = await Promise.all(endpoints.map((endpoint) => answers(endpoint, timeoutMs)));
  return endpoints.find((_, i) => answered[i]);
}

function endpointOf(spec: unknown, index: number): ClamdEndpoint {
  const endpoint = typeof spec === 'string' ? parseClamdAddress(spec) : undefined;
  if (endpoint === undefined) {
    throw new TypeError(
      `${OWNER}: option "candidates[${index}]" must be host, host:port, [ipv6]:port or a unix socket path (anything with a "/"), got ${describeValue(spec)}`,
    );
  }
  return endpoint;
}

async function answers(endpoint: ClamdEndpoint, timeoutMs: number): Promise<boolean> {
  // One limit for the whole ping: a connect that hangs costs it once, not once per try.
  const probe = new ClamAvScanner({
    ...endpoint,
    connectTimeoutMs: timeoutMs,
    scanTimeoutMs: timeoutMs,
  });
  try {
    await probe.healthCheck();
    return true;
  } catch {
    return false;
  } finally {
    await probe.close();
  }
}
