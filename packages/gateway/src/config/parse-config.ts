import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { describeValue } from '@breakwater/core/validate';
import { ConfigError } from './config-error.js';
import { readEngines } from './engines.js';
import { readPolicy } from './policy.js';
import { readSecret } from './secret.js';
import { Issues, Section } from './section.js';
import { readSpiceDb } from './spicedb.js';
import { readTokens } from './tokens.js';
import type { GatewayConfig, Secret } from './types.js';

export interface ParseConfigOptions {
  /** Relative paths resolve against it: the configuration file's directory, else the working directory. */
  readonly baseDir: string;
  /** Where secrets are read, from the variables the configuration names. */
  readonly env: NodeJS.ProcessEnv;
  /** Names the configuration in the error's message: the file's path. Default `configuration`. */
  readonly source?: string | undefined;
}

const KEYS = [
  'host',
  'port',
  'limits',
  'spicedb',
  'engines',
  'scan',
  'policy',
  'quarantine',
  'tokens',
  'dashboard',
  'metrics',
];
const HOST_NAME = /^[A-Za-z0-9.-]+$/;
// The dashboard's rule for allowedHosts: a host name as a Host header carries it, without the port.
const DASHBOARD_HOST = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
// The dashboard refuses a shorter token: a guessable word would open its controls.
const DASHBOARD_MIN_TOKEN = 16;

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxFileSize: 256 * 1024 * 1024,
  maxFiles: 16,
  bodyTimeoutMs: 120_000,
  idleTimeoutMs: 10_000,
  scanTimeoutMs: 30_000,
} as const;

/**
 * The gateway's configuration, checked whole: every problem is collected and thrown at once as
 * a {@link ConfigError}, each naming its path; every default is filled in, relative paths
 * made absolute against `baseDir`, and secrets read from the variables the file names.
 */
export function parseConfig(value: unknown, options: ParseConfigOptions): GatewayConfig {
  const { baseDir, env } = options;
  const issues = new Issues();
  const root = new Section(issues, '', value, KEYS);
  const host = root.string('host', DEFAULTS.host);
  const problem = hostProblem(host);
  if (problem !== undefined) root.fail('host', problem);
  // Read in the file's documented order, so the issues come out in that order too.
  const port = root.integer('port', DEFAULTS.port, 0, 65_535);
  const limits = root.section('limits', [
    'maxFileSize',
    'maxFiles',
    'bodyTimeoutMs',
    'idleTimeoutMs',
  ]);
  const limitValues = {
    maxFileSize: limits.integer('maxFileSize', DEFAULTS.maxFileSize, 1),
    maxFiles: limits.integer('maxFiles', DEFAULTS.maxFiles, 1),
    bodyTimeoutMs: limits.milliseconds('bodyTimeoutMs', DEFAULTS.bodyTimeoutMs),
    idleTimeoutMs: limits.milliseconds('idleTimeoutMs', DEFAULTS.idleTimeoutMs),
  };
  const spicedb = readSpiceDb(root, env);
  const engines = readEngines(root, { issues, baseDir, env });
  const scan = root.section('scan', ['mode', 'timeoutMs', 'spoolDir']);
  const scanValues = {
    mode: scan.oneOf('mode', ['all', 'first-success'], 'all'),
    timeoutMs: scan.milliseconds('timeoutMs', DEFAULTS.scanTimeoutMs),
    spoolDir: resolve(baseDir, scan.string('spoolDir', tmpdir())),
  };
  if (existsSync(scanValues.spoolDir) && !statSync(scanValues.spoolDir).isDirectory()) {
    scan.fail(scan.at('spoolDir'), `${scanValues.spoolDir} exists and is not a directory`);
  }
  const policy = readPolicy(root);
  const quarantine = root.section('quarantine', ['dir']);
  const quarantineDir = resolve(baseDir, quarantine.string('dir', 'quarantine'));
  // Made on the first file held back; something else already there would fail only then.
  if (existsSync(quarantineDir) && !statSync(quarantineDir).isDirectory()) {
    quarantine.fail(quarantine.at('dir'), `${quarantineDir} exists and is not a directory`);
  }
  const tokens = readTokens(root, issues);
  const dashboard = root.section('dashboard', ['enabled', 'tokenEnv', 'allowedHosts']);
  const dashboardValues = {
    enabled: dashboard.boolean('enabled', true),
    token: readDashboardToken(dashboard, env),
    allowedHosts: readAllowedHosts(dashboard),
  };
  const metrics = root.section('metrics', ['enabled']);
  const config: GatewayConfig = {
    host,
    port,
    limits: limitValues,
    spicedb,
    engines,
    scan: scanValues,
    policy,
    quarantine: { dir: quarantineDir },
    tokens,
    dashboard: dashboardValues,
    metrics: { enabled: metrics.boolean('enabled', true) },
  };
  if (issues.list.length > 0) throw new ConfigError(options.source ?? 'configuration', issues.list);
  return config;
}

/** Why the gateway cannot listen on `host`, or undefined: an IP address or a host name. */
export function hostProblem(host: string): string | undefined {
  if (isIP(host) !== 0 || HOST_NAME.test(host)) return undefined;
  return `must be an IP address or a host name, got ${describeValue(host)}`;
}

/** Unset: the dashboard is read-only. Set, it must be a token the dashboard accepts. */
function readDashboardToken(section: Section, env: NodeJS.ProcessEnv): Secret | undefined {
  const tokenEnv = section.envName('tokenEnv');
  if (tokenEnv === undefined) return undefined;
  const read = readSecret(env, tokenEnv, DASHBOARD_MIN_TOKEN);
  if (read.kind === 'invalid') section.fail(section.at('tokenEnv'), read.problem);
  return read.kind === 'secret' ? read.secret : undefined;
}

/** Lower case without a final dot, as the dashboard compares them; checked here to name the path. */
function readAllowedHosts(section: Section): string[] {
  const hosts: string[] = [];
  for (const { path, value } of section.array('allowedHosts') ?? []) {
    const name = typeof value === 'string' ? value.toLowerCase().replace(/\.$/, '') : undefined;
    if (name === undefined || !DASHBOARD_HOST.test(name)) {
      section.fail(
        path,
        `must be a host name without a port, like "gateway.example.com", got ${describeValue(value)}`,
      );
    } else {
      hosts.push(name);
    }
  }
  return hosts;
}
