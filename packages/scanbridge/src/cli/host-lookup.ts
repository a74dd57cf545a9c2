import { lookup } from 'node:dns/promises';
import type { ClamdEndpoint } from '../clamav/clamd-client.js';
import { SetupError } from './setup-error.js';

/**
 * Checks, within `timeoutMs`, that a TCP endpoint's host resolves, so a name nobody can
 * reach is said in words at the start (`--clamav clamd.sock: cannot resolve host clamd.sock
 * (ENOTFOUND); for a socket file here, write ./clamd.sock`) instead of as a bare getaddrinfo
 * code on every file. A socket path has nothing to resolve.
 */
export async function checkHostResolves(
  endpoint: ClamdEndpoint,
  what: string,
  timeoutMs: number,
): Promise<void> {
  if ('socketPath' in endpoint) return;
  const { host } = endpoint;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const answer = await Promise.race([lookup(host), timedOut]);
    if (answer === 'timeout') {
      throw new SetupError(`${what}: cannot resolve host ${host} within ${timeoutMs} ms`);
    }
  } catch (error) {
    if (error instanceof SetupError) throw error;
    // getaddrinfo's codes (ENOTFOUND, EAI_AGAIN) are all there is to say; the name may
    // well have been meant as a socket file in this directory.
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const hint = /^[\w.-]+$/.test(host) ? `; for a socket file here, write ./${host}` : '';
    throw new SetupError(`${what}: cannot resolve host ${host} (${code})${hint}`);
  } finally {
    clearTimeout(timer);
  }
}
