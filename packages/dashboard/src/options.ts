import {
  type BreakerRegistry,
  type Clock,
  type Logger,
  MAX_TIMER_MS,
  systemClock,
} from '@breakwater/core';
import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import type { AuthorizationSource, ScanSource } from './sources.js';
import { type Token, toToken } from './token.js';

export interface DashboardOptions {
  /** The breakers to show. */
  registry: BreakerRegistry;
  /**
   * Turns the controls on: POSTs must carry it in `X-Breakwater-Token` (or
   * `Authorization: Bearer`). At least 16 visible ASCII characters. Without it the dashboard
   * is read-only.
   */
  token?: string | undefined;
  /**
   * Host names (without port) the dashboard answers under besides loopback names and IP
   * literals, e.g. `['dashboard.internal']`. Any other Host gets 421: a DNS-rebinding page
   * cannot read the dashboard through its own name.
   */
  allowedHosts?: readonly string[] | undefined;
  /** Where the handler is mounted, e.g. `/dashboard/`. Default `/`. */
  basePath?: string | undefined;
  /** An AuthorizationService whose stats the page shows. */
  authorization?: AuthorizationSource | undefined;
  /** A ScanManager whose stats the page shows. */
  scans?: ScanSource | undefined;
  /** Open event streams at most, and snapshot downloads in flight at most; one more gets 503. Default 32. */
  maxClients?: number | undefined;
  /** Ms between history samples and `stats` events. Default 1000. */
  sampleInterval?: number | undefined;
  /** Samples of history kept per breaker. Default 60 (a minute at the default interval). */
  historyLength?: number | undefined;
  /** Time for samples, timestamps and timers. Default `Date.now` and the global timers. */
  clock?: Clock | undefined;
  /**
   * Where operator actions (info), refused control attempts (warn) and failures inside the
   * handler (error) are reported.
   * Default none: a failure is then a process warning.
   */
  logger?: Logger | undefined;
}

export interface DashboardSettings {
  readonly registry: BreakerRegistry;
  readonly token: Token | undefined;
  /** Lower case. */
  readonly allowedHosts: ReadonlySet<string>;
  readonly basePath: string;
  readonly authorization: AuthorizationSource | undefined;
  readonly scans: ScanSource | undefined;
  readonly maxClients: number;
  readonly sampleInterval: number;
  readonly historyLength: number;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
}

const OWNER = 'createDashboard';
const KEYS: ReadonlySet<string> = new Set([
  'registry',
  'token',
  'allowedHosts',
  'basePath',
  'authorization',
  'scans',
  'maxClients',
  'sampleInterval',
  'historyLength',
  'clock',
  'logger',
]);
// Path characters that need no encoding, so basePath compares as-is with a request's path.
// A ring per breaker, and in every snapshot: an hour of seconds is already 3,600 numbers each.
const MAX_HISTORY_LENGTH = 3600;
// A host name as it appears in a Host header, without the port.
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
const BASE_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@%]+\/?)*$/;

export function resolveOptions(options: DashboardOptions): DashboardSettings {
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KEYS);
  const { registry } = options;
  if (typeof registry?.forEach !== 'function' || typeof registry.health !== 'function') {
    throw new TypeError(
      `${OWNER}: option "registry" must be a BreakerRegistry, got ${describeValue(registry)}`,
    );
  }
  const clock = orDefault(options.clock, systemClock);
  if (typeof clock?.now !== 'function') {
    throw new TypeError(
      `${OWNER}: option "clock" must have a now() method, got ${describeValue(clock)}`,
    );
  }
  return {
    registry,
    token: options.token === undefined ? undefined : toToken(OWNER, options.token),
    allowedHosts: checkAllowedHosts(orDefault(options.allowedHosts, [])),
    basePath: checkBasePath(orDefault(options.basePath, '/')),
    authorization: checkAuthorization(options.authorization),
    scans: checkSource(options.scans, 'scans', ['stats']),
    maxClients: integerAtLeast(OWNER, 'maxClients', orDefault(options.maxClients, 32), 1),
    sampleInterval: atMost(
      'sampleInterval',
      durationAtLeast(OWNER, 'sampleInterval', orDefault(options.sampleInterval, 1000), 10),
      // Node fires a longer timer at once, so the sampler would run every millisecond.
      MAX_TIMER_MS,
      "ms (Node's longest timer)",
    ),
    historyLength: atMost(
      'historyLength',
      integerAtLeast(OWNER, 'historyLength', orDefault(options.historyLength, 60), 1),
      MAX_HISTORY_LENGTH,
      'samples (every breaker keeps that many, and every snapshot carries them)',
    ),
    clock,
    logger: checkLogger(options.logger),
  };
}

function atMost(key: string, value: number, max: number, unit: string): number {
  if (value > max) {
    throw new RangeError(
      `${OWNER}: option "${key}" must be at most ${max} ${unit}, got ${describeValue(value)}`,
    );
  }
  return value;
}

function checkAllowedHosts(value: unknown): ReadonlySet<string> {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${OWNER}: option "allowedHosts" must be an array of host names, got ${describeValue(value)}`,
    );
  }
  const hosts = new Set<string>();
  for (const host of value) {
    const name = typeof host === 'string' ? host.toLowerCase().replace(/\.$/, '') : undefined;
    if (name === undefined || !HOST_NAME.test(name)) {
      throw new TypeError(
        `${OWNER}: option "allowedHosts" must hold host names without a port, like "dashboard.example.com", got ${describeValue(host)}`,
      );
    }
    hosts.add(name);
  }
  return hosts;
}

function checkBasePath(value: unknown): string {
  if (typeof value !== 'string' || !BASE_PATH.test(value) || value.includes('//')) {
    throw new TypeError(
      `${OWNER}: option "basePath" must be a URL path starting with "/" (like "/dashboard/"), got ${describeValue(value)}`,
    );
  }
  return value.endsWith('/') ? value : `${value}/`;
}

function checkSource<S>(
  value: S | undefined,
  key: string,
  methods: readonly string[],
): S | undefined {
  if (value === undefined) return undefined;
  for (const method of methods) {
    if (typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new TypeError(
        `${OWNER}: option "${key}" must have a ${method}() method, got ${describeValue(value)}`,
      );
    }
  }
  return value;
}

function checkAuthorization(
  value: AuthorizationSource | undefined,
): AuthorizationSource | undefined {
  const source = checkSource(value, 'authorization', ['stats']);
  if (source !== undefined && typeof source.breaker?.name !== 'string') {
    throw new TypeError(
      `${OWNER}: option "authorization" must be an AuthorizationService (with a breaker), got ${describeValue(value)}`,
    );
  }
  return source;
}

function checkLogger(value: Logger | undefined): Logger | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value?.info !== 'function' ||
    typeof value.warn !== 'function' ||
    typeof value.error !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: option "logger" must have info(), warn() and error() methods, got ${describeValue(value)}`,
    );
  }
  return value;
}
