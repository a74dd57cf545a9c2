import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import type { Logger } from '@breakwater/core';
import { type ClamdEndpoint, findClamd } from '@breakwater/scanbridge';
import { packageRoot } from '../config/package-root.js';
import type { GatewayConfig } from '../config/types.js';
import { type Gateway, startGateway } from '../server/gateway.js';
import { demoConfig } from './config.js';
import { portInUse, step } from './demo-start.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import type { DemoSettings } from './settings.js';
import type { Teardown } from './teardown.js';
import { type DemoUser, demoRelationships, demoUsers, randomToken } from './users.js';

/** Everything the demo runs, up and ready. */
export interface DemoStack {
  readonly users: readonly DemoUser[];
  readonly spicedb: EmbeddedSpiceDb;
  readonly spicedbProxy: FaultProxy;
  /** Where clamd was found (a socket path or `host:port`), when it was. */
  readonly clamdAt: string | undefined;
  readonly clamdProxy: FaultProxy | undefined;
  readonly config: GatewayConfig;
  readonly gateway: Gateway;
  readonly dashboardToken: string;
}

export interface StackContext {
  readonly settings: DemoSettings;
  /** The run's private directory: the quarantine goes in it. */
  readonly dir: string;
  /** For the gateway and the SpiceDB server. */
  readonly logger: Logger;
  readonly teardown: Teardown;
  /** Tells the terminal what is starting. */
  readonly say: (line: string) => void;
}

const CLAMD_LOOKUP_MS = 1_000;
// What @breakwater/authz/embedded logs when its server process ends before close().
const SERVER_EXITED = 'embedded SpiceDB server exited unexpectedly';

/**
 * `logger`, for the SpiceDB server: a terminal's Ctrl-C signals its whole process group, so the
 * server stops on the same signal as the demo (exit code 0), often before the teardown reaches
 * it. Once `signal` has aborted, that exit is the stop going as planned, not an error.
 */
function spicedbLogger(logger: Logger, signal: AbortSignal): Logger {
  return {
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error(fields, message) {
      if (signal.aborted && message === SERVER_EXITED && fields.code === 0) {
        logger.info(fields, 'the embedded SpiceDB server stopped on the same signal');
      } else {
        logger.error(fields, message);
      }
    },
  };
}

function clamdTarget(endpoint: ClamdEndpoint): string {
  if ('socketPath' in endpoint) return endpoint.socketPath;
  return endpoint.host.includes(':')
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/**
 * Starts, in order: the embedded SpiceDB with the shipped schema and the demo's users, a fault
 * proxy in front of it, one in front of clamd when one answers, and the gateway through them. Each is added to `teardown` as soon as it runs, so a step that fails
 * (a DemoStartError naming it) leaves only what `teardown` stops.
 */
export async function startStack(context: StackContext): Promise<DemoStack> {
  const { settings, dir, logger, teardown, say } = context;
  const { host, port, signal } = settings;
  say('Starting the embedded SpiceDB...');
  const users = demoUsers();
  const spicedb = await step('the embedded SpiceDB', async () =>
    startEmbeddedSpiceDb({
      schema: await readFile(resolve(packageRoot().dir, 'schema', 'schema.zed'), 'utf8'),
      relationships: demoRelationships(users),
      logger: spicedbLogger(logger, signal),
      signal,
    }),
  );
  teardown.add(`the embedded SpiceDB (pid ${spicedb.pid})`, () => spicedb.close());
  const spicedbProxy = await step('the fault proxy in front of SpiceDB', () =>
    startFaultProxy({ target: spicedb.endpoint }),
  );
  teardown.add('the SpiceDB fault proxy', () => spicedbProxy.close());

  const clamd = await findClamd({ timeoutMs: CLAMD_LOOKUP_MS, candidates: settings.clamd });
  const clamdAt = clamd === undefined ? undefined : clamdTarget(clamd);
  const clamdProxy =
    clamdAt === undefined
      ? undefined
      : await step('the fault proxy in front of clamd', () => startFaultProxy({ target: clamdAt }));
  if (clamdProxy !== undefined) teardown.add('the clamd fault proxy', () => clamdProxy.close());

  const dashboardToken = randomToken();
  const config = demoConfig({
    host,
    port,
    spicedbEndpoint: spicedbProxy.endpoint,
    spicedbToken: spicedb.token,
    clamdEndpoint: clamdProxy?.endpoint,
    users,
    dashboardToken,
    dir,
  });
  signal.throwIfAborted();
  say('Starting the gateway...');
  const gateway = await step(`the gateway on ${host}:${port}`, () =>
    startGateway(config, { logger }).catch((error: unknown) => {
      throw portInUse(error, host, port) ?? error;
    }),
  );
  teardown.add('the gateway', () => gateway.close());
  return {
    users,
    spicedb,
    spicedbProxy,
    clamdAt,
    clamdProxy,
    config,
    gateway,
    dashboardToken,
  };
}
