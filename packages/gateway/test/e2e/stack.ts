import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { startTrafficMeter, type TrafficMeter } from '../../../authz/test/traffic-meter.js';
import { type Clamd, startClamd } from '../../../scanbridge/test/clamd-process.js';
import { hashToken } from '../../src/config/index.js';
import type { GatewayConfigFile } from '../../src/config/types.js';
import { type FaultProxy, startFaultProxy } from '../../src/demo/fault-proxy.js';
import { startTestSpiceDb } from '../support/gateway-harness.js';
import { freshGatewayDist } from './fresh-dist.js';
import { type GatewayProcess, startGatewayProcess } from './gateway-process.js';

/**
 * The callers: acme's member alice (may scan), reviewer rita (may review, not scan), admin adam
 * (may scan, and is kept unseen until SpiceDB is down) and mallory, who holds nothing; the
 * relationships are the gateway harness's.
 */
export const E2E_USERS = ['alice', 'rita', 'adam', 'mallory'] as const;
export type E2eUser = (typeof E2E_USERS)[number];

const SPICEDB_TOKEN_ENV = 'E2E_SPICEDB_TOKEN';
/** How long a cached allow answers by itself while SpiceDB answers (`spicedb.cache.freshMs`). */
export const CACHE_FRESH_MS = 1_000;

/** Short enough that a paused SpiceDB opens its breaker on the first check, long enough to look at it. */
export const SPICEDB_OPEN_MS = 4_000;
export const CLAMD_FAILURES_TO_OPEN = 2;

/** Everything the end-to-end tests run against, each piece real and in a process of its own. */
export interface E2eStack {
  readonly gateway: GatewayProcess;
  readonly clamd: Clamd;
  /**
   * Between the gateway and clamd: counts what reaches clamd. The scanner's kept sessions carry
   * many scans on one connection, so its bytes, not its connections, say whether a scan got there.
   */
  readonly clamdRelay: TrafficMeter;
  readonly spicedb: EmbeddedSpiceDb;
  /** Between the gateway and SpiceDB: pauses it. */
  readonly spicedbProxy: FaultProxy;
  /** The gateway process's TMPDIR: where it spools uploads. */
  readonly spoolDir: string;
  readonly tokens: Readonly<Record<E2eUser, string>>;
  /** Stops whatever started, in reverse order; never rejects. */
  stop(): Promise<void>;
}

/**
 * A fresh dist/, clamd (StreamMaxLength above the scanner's own 100 MiB limit, so the scanner
 * and never clamd is what refuses a larger file), the embedded SpiceDB with the gateway's
 * schema behind a fault proxy, and `breakwater-gateway serve` over a configuration file: the
 * YARA engine on the shipped rules and clamd, the default policy. A start that fails half-way
 * stops what it started.
 */
export async function startE2eStack(): Promise<E2eStack> {
  const undo: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'breakwater-e2e-'));
    undo.push(() => rm(dir, { recursive: true, force: true }));
    const spoolDir = join(dir, 'tmp');
    await mkdir(spoolDir);
    const [clamd, spicedb] = await Promise.all([
      startClamd({ streamMaxLength: '128M' }).then((started) => {
        undo.push(() => started.stop());
        return started;
      }),
      startTestSpiceDb().then((started) => {
        undo.push(() => started.close());
        return started;
      }),
      freshGatewayDist(),
    ]);
    const spicedbProxy = await startFaultProxy({ target: spicedb.endpoint });
    undo.push(() => spicedbProxy.close());
    const clamdRelay = await startTrafficMeter({ target: `127.0.0.1:${clamd.port}` });
    undo.push(() => clamdRelay.close());
    const tokens = Object.fromEntries(
      E2E_USERS.map((user) => [user, `bw_${user}_${randomBytes(18).toString('base64url')}`]),
    ) as Record<E2eUser, string>;
    const config: GatewayConfigFile = {
      host: '127.0.0.1',
      port: 0,
      spicedb: {
        endpoint: spicedbProxy.endpoint,
        tokenEnv: SPICEDB_TOKEN_ENV,
        insecure: true,
        timeoutMs: 500,
        breaker: { failureThreshold: 1, openDuration: SPICEDB_OPEN_MS, successThreshold: 1 },
        // Short, so the test can get past it: past this a cached allow stands in only through
        // the fallback, which is what "a caller allowed before still uploads" must prove.
        cache: { freshMs: CACHE_FRESH_MS },
      },
      engines: [
        { type: 'yara' },
        {
          type: 'clamav',
          name: 'clamav',
          address: clamdRelay.endpoint,
          breaker: { failureThreshold: CLAMD_FAILURES_TO_OPEN, openDuration: 60_000 },
        },
      ],
      policy: 'default',
      quarantine: { dir: 'quarantine' },
      tokens: E2E_USERS.map((user) => ({
        sha256: hashToken(tokens[user]),
        subject: `user:${user}`,
        tenant: 'acme',
      })),
    };
    const gateway = await startGatewayProcess({
      config,
      dir,
      env: { [SPICEDB_TOKEN_ENV]: spicedb.token, TMPDIR: spoolDir },
    });
    undo.push(async () => {
      await gateway.stop();
    });
    return { gateway, clamd, clamdRelay, spicedb, spicedbProxy, spoolDir, tokens, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
