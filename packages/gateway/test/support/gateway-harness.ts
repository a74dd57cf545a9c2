import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { hashToken, parseConfig } from '../../src/config/index.js';
import type { EngineConfigFile, GatewayConfig, GatewayConfigFile } from '../../src/config/types.js';
import { type Gateway, startGateway } from '../../src/server/gateway.js';
import { schemaPath } from '../../src/server/schema.js';
import { CapturingLogger } from './capturing-logger.js';
import { TEST_RULES } from './samples.js';

/**
 * The people of the tests: acme's member (alice), reviewer (rita) and admin (adam); mallory,
 * who holds nothing anywhere; gus, admin of another tenant (globex); and nora, who has a
 * token but no default tenant.
 */
export const USERS = ['alice', 'rita', 'adam', 'mallory', 'gus', 'nora'] as const;
export type User = (typeof USERS)[number];

/** Who may do what, in zed's syntax: the gateway's schema gives admins review and scan too. */
export const RELATIONSHIPS: readonly string[] = [
  'tenant:acme#member@user:alice',
  'tenant:acme#reviewer@user:rita',
  'tenant:acme#admin@user:adam',
  'tenant:globex#admin@user:gus',
  'tenant:globex#member@user:nora',
];

const DEFAULT_TENANT: Readonly<Record<User, string | undefined>> = {
  alice: 'acme',
  rita: 'acme',
  adam: 'acme',
  mallory: 'acme',
  gus: 'globex',
  nora: undefined,
};

/** The embedded SpiceDB server with the gateway's own schema and {@link RELATIONSHIPS}. */
export async function startTestSpiceDb(): Promise<EmbeddedSpiceDb> {
  return startEmbeddedSpiceDb({
    schema: await readFile(schemaPath(), 'utf8'),
    relationships: RELATIONSHIPS,
  });
}

export interface TestGatewayOptions {
  /** A SpiceDB to use (shared between gateways of one file); one is started (and stopped) otherwise. */
  readonly spicedb?: EmbeddedSpiceDb | undefined;
  /** Engines in the configuration file's form; default one YARA engine over {@link TEST_RULES}. */
  readonly engines?: readonly EngineConfigFile[] | undefined;
  /** More of the configuration file, over the harness's (host, port, tokens, spicedb, quarantine). */
  readonly config?: Omit<GatewayConfigFile, 'tokens'> | undefined;
  /** More environment variables, for secrets the configuration names. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** The dashboard's admin token; default none (read-only). */
  readonly dashboardToken?: string | undefined;
  readonly closeGraceMs?: number | undefined;
}

export interface TestGateway {
  readonly gateway: Gateway;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Each user's API token, in clear (the configuration holds only its sha256). */
  readonly tokens: Readonly<Record<User, string>>;
  readonly spicedb: EmbeddedSpiceDb;
  /** Everything the gateway logged. */
  readonly logger: CapturingLogger;
  readonly config: GatewayConfig;
  /** A temporary directory of this gateway's own: the quarantine is `<dir>/quarantine`. */
  readonly dir: string;
  /** `fetch(url + path)` as `user` (a Bearer token), or with no token when `user` is undefined. */
  fetch(path: string, user: User | undefined, init?: RequestInit): Promise<Response>;
  /** Closes the gateway, the SpiceDB it started, and removes its directory. */
  close(): Promise<void>;
}

/**
 * A real gateway on 127.0.0.1 and a free port, configured through `parseConfig` as the command
 * line would be, against a real (embedded) SpiceDB loaded with the gateway's schema, with a
 * token per {@link USERS} user. Everything it started is stopped by `close()`, also when the start
 * fails half-way.
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'breakwater-gateway-'));
  const owned = options.spicedb === undefined;
  let spicedb: EmbeddedSpiceDb | undefined;
  let gateway: Gateway | undefined;
  try {
    spicedb = options.spicedb ?? (await startTestSpiceDb());
    const tokens = Object.fromEntries(
      USERS.map((user) => [user, `bw_${user}_${randomBytes(18).toString('base64url')}`]),
    ) as Record<User, string>;
    const file: GatewayConfigFile = {
      host: '127.0.0.1',
      port: 0,
      engines: [...(options.engines ?? [{ type: 'yara', name: 'yara', rules: TEST_RULES }])],
      quarantine: { dir: 'quarantine' },
      ...options.config,
      spicedb: {
        endpoint: spicedb.endpoint,
        tokenEnv: 'TEST_SPICEDB_TOKEN',
        insecure: true,
        ...options.config?.spicedb,
      },
      dashboard: {
        ...(options.dashboardToken === undefined ? {} : { tokenEnv: 'TEST_DASHBOARD_TOKEN' }),
        ...options.config?.dashboard,
      },
      tokens: USERS.map((user) => ({
        sha256: hashToken(tokens[user]),
        subject: `user:${user}`,
        ...(DEFAULT_TENANT[user] === undefined ? {} : { tenant: DEFAULT_TENANT[user] }),
      })),
    };
    const config = parseConfig(file, {
      baseDir: dir,
      env: {
        TEST_SPICEDB_TOKEN: spicedb.token,
        ...(options.dashboardToken === undefined
          ? {}
          : { TEST_DASHBOARD_TOKEN: options.dashboardToken }),
        ...options.env,
      },
    });
    const logger = new CapturingLogger();
    gateway = await startGateway(config, { logger, closeGraceMs: options.closeGraceMs ?? 2_000 });
    const started = gateway;
    const server = spicedb;
    let closing: Promise<void> | undefined;
    return {
      gateway: started,
      url: started.url,
      tokens,
      spicedb: server,
      logger,
      config,
      dir,
      fetch(path, user, init = {}) {
        const headers = new Headers(init.headers);
        if (user !== undefined) headers.set('authorization', `Bearer ${tokens[user]}`);
        return fetch(`${started.url}${path}`, { ...init, headers });
      },
      close() {
        closing ??= (async () => {
          await started.close();
          if (owned) await server.close();
          await rm(dir, { recursive: true, force: true });
        })();
        return closing;
      },
    };
  } catch (error) {
    await gateway?.close();
    if (owned) await spicedb?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A multipart form with one file per `[name, content]`, under `field` (default `file`). */
export function form(
  files: readonly (readonly [string, string | Uint8Array])[],
  field = 'file',
): FormData {
  const body = new FormData();
  for (const [name, content] of files) body.append(field, new Blob([content]), name);
  return body;
}
