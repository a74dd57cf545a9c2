import { describeValue } from '@breakwater/core/validate';
import { isLoopback, parseHostPort } from './addresses.js';
import { readBreakerOptions } from './breaker-options.js';
import { readSecret } from './secret.js';
import type { Section } from './section.js';
import type { GatewayConfig, Secret } from './types.js';

const KEYS = [
  'endpoint',
  'tokenEnv',
  'insecure',
  'applySchema',
  'timeoutMs',
  'breaker',
  'cache',
  'fallback',
];
export const SPICEDB_DEFAULTS = {
  endpoint: '127.0.0.1:50051',
  tokenEnv: 'SPICEDB_TOKEN',
  timeoutMs: 1_000,
  cacheFreshMs: 30_000,
  cacheTtlMs: 300_000,
  cacheMaxEntries: 10_000,
} as const;

export function readSpiceDb(root: Section, env: NodeJS.ProcessEnv): GatewayConfig['spicedb'] {
  const section = root.section('spicedb', KEYS);
  const endpoint = section.string('endpoint', SPICEDB_DEFAULTS.endpoint);
  const hostPort = parseHostPort(endpoint);
  if (hostPort === undefined) {
    section.fail(
      section.at('endpoint'),
      `must be host:port (or [v6]:port) with a port from 1 to 65535, got ${describeValue(section.raw('endpoint'))}`,
    );
  }
  const loopback = hostPort !== undefined && isLoopback(hostPort.host);
  const tokenEnv = section.envName('tokenEnv', SPICEDB_DEFAULTS.tokenEnv);
  const read = readSecret(env, tokenEnv);
  let token: Secret | undefined;
  if (read.kind === 'secret') token = read.secret;
  else if (read.kind === 'invalid') section.fail(section.at('tokenEnv'), read.problem);
  else if (hostPort !== undefined && !loopback) {
    // A SpiceDB off this machine without a key would refuse every check: every upload a 403.
    section.fail(
      section.at('tokenEnv'),
      `environment variable ${tokenEnv} is not set; a SpiceDB at ${endpoint}, off this machine, needs its preshared key`,
    );
  }
  const applySchema = section.boolean('applySchema', false);
  if (applySchema && read.kind === 'unset') {
    section.fail(
      section.at('applySchema'),
      `writing the schema needs SpiceDB's preshared key, and environment variable ${tokenEnv} is not set`,
    );
  }
  const cache = section.section('cache', ['freshMs', 'ttlMs', 'maxEntries']);
  return {
    endpoint,
    token,
    insecure: section.boolean('insecure', loopback),
    applySchema,
    timeoutMs: section.milliseconds('timeoutMs', SPICEDB_DEFAULTS.timeoutMs),
    breaker: readBreakerOptions(section),
    cache: {
      freshMs: cache.milliseconds('freshMs', SPICEDB_DEFAULTS.cacheFreshMs),
      ttlMs: cache.milliseconds('ttlMs', SPICEDB_DEFAULTS.cacheTtlMs),
      maxEntries: cache.integer('maxEntries', SPICEDB_DEFAULTS.cacheMaxEntries, 1),
    },
    fallback: section.oneOf('fallback', ['cached-else-deny', 'deny'], 'cached-else-deny'),
  };
}
