import { hashToken, parseConfig } from '../config/index.js';
import type { GatewayConfig, GatewayConfigFile } from '../config/types.js';
import { DEMO_TENANT, type DemoUser } from './users.js';

/** Where the demo's configuration reads its secrets: an environment of its own, not the process's. */
const SPICEDB_TOKEN_ENV = 'BREAKWATER_DEMO_SPICEDB_TOKEN';
const DASHBOARD_TOKEN_ENV = 'BREAKWATER_DEMO_DASHBOARD_TOKEN';

/** Each SpiceDB check's limit: short, so that a hang shows within a second. */
export const SPICEDB_TIMEOUT_MS = 500;
/**
 * How long a cached allow stands in for SpiceDB while it answers: much less than a fault lasts,
 * so that during one the users SpiceDB allowed before are answered by the fallback from cached
 * decisions (with the default 30 s, every fault fell inside a fresh-cache window).
 */
export const SPICEDB_FRESH_MS = 2_000;
/** Each clamd scan's limit (its breaker's timeout). */
export const CLAMD_TIMEOUT_MS = 2_000;

/** The clamd engine's name, and so its breaker's. */
export const CLAMD_ENGINE = 'clamav';

export interface DemoConfigInput {
  readonly host: string;
  readonly port: number;
  /** The fault proxy in front of SpiceDB. */
  readonly spicedbEndpoint: string;
  readonly spicedbToken: string;
  /** The fault proxy in front of clamd, when one was found. */
  readonly clamdEndpoint: string | undefined;
  readonly users: readonly DemoUser[];
  readonly dashboardToken: string;
  /** The run's private directory: the quarantine and the spool live in it. */
  readonly dir: string;
}

/**
 * The gateway's configuration for the demo, through the same validation as a file's: breakers
 * tuned so that a fault opens one within a second and it recovers within seconds of the fault's
 * end (a lively demo, not production values).
 */
export function demoConfig(input: DemoConfigInput): GatewayConfig {
  const file: GatewayConfigFile = {
    host: input.host,
    port: input.port,
    spicedb: {
      endpoint: input.spicedbEndpoint,
      tokenEnv: SPICEDB_TOKEN_ENV,
      insecure: true,
      timeoutMs: SPICEDB_TIMEOUT_MS,
      breaker: { failureThreshold: 3, openDuration: 3_000, successThreshold: 2 },
      cache: { freshMs: SPICEDB_FRESH_MS },
      fallback: 'cached-else-deny',
    },
    engines: [
      { type: 'yara' },
      ...(input.clamdEndpoint === undefined
        ? []
        : [
            {
              type: 'clamav' as const,
              name: CLAMD_ENGINE,
              address: input.clamdEndpoint,
              breaker: {
                failureThreshold: 3,
                openDuration: 3_000,
                successThreshold: 2,
                timeout: CLAMD_TIMEOUT_MS,
              },
            },
          ]),
    ],
    // Malware and suspicious files are kept (not only refused), so that rita has a quarantine
    // to look at and adam something to release.
    policy: 'strict',
    // In the run's directory, which goes at exit even when a second Ctrl-C cuts the teardown
    // short: an upload in flight then leaves no bytes in the OS temp directory.
    scan: { spoolDir: 'spool' },
    quarantine: { dir: 'quarantine' },
    tokens: input.users.map((user) => ({
      sha256: hashToken(user.token.reveal()),
      subject: `user:${user.name}`,
      tenant: DEMO_TENANT,
    })),
    dashboard: { enabled: true, tokenEnv: DASHBOARD_TOKEN_ENV },
  };
  return parseConfig(file, {
    baseDir: input.dir,
    env: { [SPICEDB_TOKEN_ENV]: input.spicedbToken, [DASHBOARD_TOKEN_ENV]: input.dashboardToken },
    source: 'the demo configuration',
  });
}
