import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { AuthorizationService } from '@breakwater/authz';
import { BreakerRegistry, type Logger } from '@breakwater/core';
import {
  durationAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { createDashboard, type DashboardHandler } from '@breakwater/dashboard';
import { FilesystemQuarantine, ScanManager } from '@breakwater/scanbridge';
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { subjectProblem } from '../config/tokens.js';
import type { GatewayConfig, TokenConfig } from '../config/types.js';
import { registerUploadParsers, serverTimeouts } from '../upload/index.js';
import { Access } from './access.js';
import { buildAuthorization } from './authorization.js';
import { CallerTable } from './callers.js';
import { buildEngines, type Engines } from './engines.js';
import { errorAnswer } from './error-answer.js';
import { errorBody } from './http-error.js';
import { InFlight } from './in-flight.js';
import { jsonLinesLogger } from './json-logger.js';
import { buildMetrics } from './metrics.js';
import { policyOf } from './policy.js';
import type { RouteContext } from './route-context.js';
import { clamavRestRoutes } from './routes/clamav-rest.js';
import { operationsRoutes } from './routes/operations.js';
import { quarantineRoutes } from './routes/quarantine.js';
import { scanRoutes } from './routes/scans.js';
import { applySchema } from './schema.js';
import { GatewayStartError } from './start-error.js';
import { MAX_PARAM_LENGTH } from './tenant-id.js';

/** A running gateway. */
export interface Gateway {
  /** `http://127.0.0.1:8080`, as it listens (the port it got when configured with 0). */
  readonly url: string;
  readonly port: number;
  /** Every breaker: one per engine, under the engine's name, and `spicedb`. */
  readonly registry: BreakerRegistry;
  readonly manager: ScanManager;
  readonly authorization: AuthorizationService;
  readonly quarantine: FilesystemQuarantine;
  /** The register `/metrics` serves; undefined with `metrics.enabled: false`. */
  readonly metrics: Registry | undefined;
  /** Uploads still being read or scanned: what `close()` waits for. */
  inFlight(): number;
  /**
   * Stops accepting requests (new ones get 503), lets those in flight finish for up to
   * `closeGraceMs` and then ends them, and closes the dashboard, the metrics collectors, the
   * SpiceDB client and the engines. Idempotent: every call returns the same promise.
   */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** pino-shaped; default: JSON lines on stderr at info. */
  logger?: Logger | undefined;
  /** How long `close()` waits for requests in flight before it ends them. Default 10 000 ms. */
  closeGraceMs?: number | undefined;
}

const OWNER = 'startGateway';
const OPTION_KEYS: ReadonlySet<string> = new Set(['logger', 'closeGraceMs']);
const DEFAULT_CLOSE_GRACE_MS = 10_000;
const SHA256_BYTES = 32;
const MAX_URL_SHOWN = 200;

/**
 * Starts the gateway: engines behind breakers, SpiceDB behind its breaker with the decision
 * cache and fallback, the scan manager with the policy and the quarantine, the routes, metrics
 * and dashboard; resolves once it listens. `config` is what `parseConfig` returns: validated,
 * defaults filled. A step that fails undoes the ones before it and rejects with a
 * {@link GatewayStartError} naming the step.
 */
export async function startGateway(
  config: GatewayConfig,
  options: GatewayOptions = {},
): Promise<Gateway> {
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, OPTION_KEYS);
  const closeGraceMs = durationAtLeast(
    OWNER,
    'closeGraceMs',
    orDefault(options.closeGraceMs, DEFAULT_CLOSE_GRACE_MS),
    0,
  );
  const logger = options.logger ?? jsonLinesLogger();
  const callers = new CallerTable(checkTokens(config.tokens));
  const registry = new BreakerRegistry();
  const undo: (() => void | Promise<void>)[] = [() => registry.dispose()];
  try {
    const engines = step('engines', () =>
      buildEngines(config.engines, registry, logger, config.scan.spoolDir),
    );
    undo.push(() => engines.close());
    if (config.spicedb.applySchema) await applyShippedSchema(config, logger);
    const authorization = step('authorization', () =>
      buildAuthorization(config.spicedb, registry, logger),
    );
    undo.push(() => authorization.close());
    const quarantine = new FilesystemQuarantine(config.quarantine.dir);
    await makeSpoolDir(config.scan.spoolDir);
    const manager = buildManager(config, engines, quarantine, logger);
    const metrics = config.metrics.enabled
      ? buildMetrics(registry, authorization.service, manager, logger)
      : undefined;
    if (metrics !== undefined) undo.push(() => metrics.close());
    const dashboard = config.dashboard.enabled
      ? createDashboard({
          registry,
          basePath: '/dashboard/',
          ...(config.dashboard.token === undefined
            ? {}
            : { token: config.dashboard.token.reveal() }),
          authorization: authorization.service,
          scans: manager,
          logger,
          allowedHosts: [
            ...(isIP(config.host) === 0 ? [config.host] : []),
            ...config.dashboard.allowedHosts,
          ],
        })
      : undefined;
    if (dashboard !== undefined) undo.push(() => dashboard.close());
    const shutdown = new AbortController();
    // Every request in flight listens to it (route-context.ts), far more than the default 10.
    setMaxListeners(0, shutdown.signal);
    const inFlight = new InFlight();
    const app = buildApp(config, logger, dashboard);
    const context: RouteContext = {
      access: new Access(callers, authorization.service, logger),
      manager,
      quarantine,
      limits: config.limits,
      logger,
      shutdown: shutdown.signal,
      inFlight,
    };
    // The upload parsers replace every body parser of the scope they are given: only the scan routes get them.
    app.register(async (uploads) => {
      registerUploadParsers(uploads);
      scanRoutes(uploads, context);
      clamavRestRoutes(uploads, context);
    });
    quarantineRoutes(app, context);
    operationsRoutes(app, {
      registry,
      engines: engines.names,
      metrics: metrics?.register,
      dashboard,
    });
    undo.push(() => app.close());
    await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
      throw new GatewayStartError(
        'listen',
        `Could not listen on ${config.host}:${config.port}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    const port = listeningPort(app);
    const url = `http://${isIP(config.host) === 6 ? `[${config.host}]` : config.host}:${port}`;
    logger.info(
      { event: 'gateway_listening', url, engines: engines.names },
      `gateway listening on ${url}`,
    );
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      registry,
      manager,
      authorization: authorization.service,
      quarantine,
      metrics: metrics?.register,
      inFlight: () => inFlight.size,
      close() {
        closing ??= closeGateway(app, shutdown, inFlight, closeGraceMs, [
          () => metrics?.close(),
          () => authorization.close(),
          () => engines.close(),
          () => registry.dispose(),
        ]);
        return closing;
      },
    };
  } catch (error) {
    for (const step of undo.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => {});
    throw error;
  }
}

function buildApp(
  config: GatewayConfig,
  logger: Logger,
  dashboard: DashboardHandler | undefined,
): FastifyInstance {
  const answer = (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const { statusCode, headers, code, message, fields } = errorAnswer(error, request, logger);
    reply
      .code(statusCode)
      .headers(headers)
      .send(errorBody(code, message, fields));
  };
  const app = fastify({
    // A path the router cannot take (a bad % escape, a segment past maxParamLength) is refused
    // before any hook runs: answered here, in the same shape and with the request id.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      answer(error, request, reply);
    },
    ...serverTimeouts(config.limits, config.scan.timeoutMs),
    logger: false,
    trustProxy: false,
    return503OnClosing: true,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });
  // Error messages name the request id; the client gets it too, to quote it.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler(answer);
  app.setNotFoundHandler((request, reply) => {
    const shown =
      request.url.length > MAX_URL_SHOWN
        ? `${request.url.slice(0, MAX_URL_SHOWN)}...`
        : request.url;
    reply
      .code(404)
      .send(errorBody('BREAKWATER_NOT_FOUND', `No endpoint answers ${request.method} ${shown}`));
  });
  // Event streams never end on their own: the dashboard ends them before the server waits for its connections.
  app.addHook('preClose', async () => {
    dashboard?.close();
  });
  return app;
}

function buildManager(
  config: GatewayConfig,
  engines: Engines,
  quarantine: FilesystemQuarantine,
  logger: Logger,
): ScanManager {
  const builder = ScanManager.builder();
  for (const scanner of engines.scanners) builder.addScanner(scanner);
  return builder
    .withPolicyEngine(policyOf(config.policy))
    .withQuarantine(quarantine)
    .withConfig({
      mode: config.scan.mode,
      scanTimeoutMs: config.scan.timeoutMs,
      maxFileSize: config.limits.maxFileSize,
      spoolDir: config.scan.spoolDir,
    })
    .withAuditLogger(logger)
    .build();
}

/** Made on start, so that a fresh path is not a failed upload later. */
async function makeSpoolDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((error: unknown) => {
    throw new GatewayStartError(
      'config',
      `Could not make the spool directory ${dir} (scan.spoolDir): ${(error as Error).message}`,
      { cause: error },
    );
  });
}

async function applyShippedSchema(config: GatewayConfig, logger: Logger): Promise<void> {
  const { endpoint, token, insecure, timeoutMs } = config.spicedb;
  if (token === undefined) {
    throw new GatewayStartError(
      'schema',
      'spicedb.applySchema is set, but no SpiceDB preshared key is (set the variable spicedb.tokenEnv names): SpiceDB refuses a schema write without one',
    );
  }
  // A schema write is heavier than a check: give it more than one check's time.
  await applySchema({
    endpoint,
    token: token.reveal(),
    insecure,
    timeoutMs: Math.max(timeoutMs, 10_000),
  });
  logger.info(
    { event: 'gateway_schema', endpoint },
    `wrote the gateway's schema to SpiceDB at ${endpoint}`,
  );
}

async function closeGateway(
  app: FastifyInstance,
  shutdown: AbortController,
  inFlight: InFlight,
  graceMs: number,
  rest: readonly (() => void | Promise<void>)[],
): Promise<void> {
  // Requests still running after the grace period are ended: their scans aborted (spooled files
  // removed), their connections closed.
  const grace = setTimeout(() => {
    shutdown.abort(new Error('the gateway is shutting down'));
    app.server.closeAllConnections();
  }, graceMs);
  grace.unref();
  try {
    await app.close();
    await inFlight.settled();
  } finally {
    clearTimeout(grace);
    for (const step of rest)
      await Promise.resolve()
        .then(step)
        .catch(() => {});
  }
}

function step<T>(phase: 'engines' | 'authorization', build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new GatewayStartError(phase, `${phase}: ${(error as Error).message}`, { cause: error });
  }
}

function checkTokens(tokens: readonly TokenConfig[]): readonly TokenConfig[] {
  tokens.forEach((token, index) => {
    if (!Buffer.isBuffer(token.sha256) || token.sha256.length !== SHA256_BYTES) {
      throw new GatewayStartError(
        'config',
        `tokens[${index}].sha256 must be the token's sha256 as 32 bytes (parseConfig makes them from 64 hex digits)`,
      );
    }
    // A configuration built by hand skips parseConfig: a subject SpiceDB cannot check would
    // only show as a 500 on every call with that token.
    const problem = subjectProblem(token.subject);
    if (problem !== undefined) {
      throw new GatewayStartError('config', `tokens[${index}].subject: ${problem}`);
    }
  });
  return tokens;
}

function listeningPort(app: FastifyInstance): number {
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    throw new GatewayStartError('listen', 'The server listens on no TCP port');
  }
  return address.port;
}
