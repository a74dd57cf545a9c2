import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BreakerEvents, CircuitBreaker, Criticality } from '@breakwater/core';
import { ACTIONS, isAction, refusal } from './controls.js';
import { setSecurityHeaders } from './headers.js';
import { STATUS_BY_RANK } from './health.js';
import { type DashboardOptions, type DashboardSettings, resolveOptions } from './options.js';
import { safeJson, sendError, sendJson } from './respond.js';
import { HistorySampler } from './sampler.js';
import { SseHub } from './sse-hub.js';
import { type Asset, loadAssets } from './static-assets.js';
import { every } from './timer.js';
import { type BreakerView, breakerView, rateOrNull } from './views.js';

/** A node:http request handler (Express and Fastify's raw objects too), and its shutdown. */
export type DashboardHandler = ((
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void) & {
  /** Stops sampling, ends every event stream and stops listening to the registry. */
  close(): void;
};

type Next = (error?: unknown) => void;

const READ = ['GET', 'HEAD'];
const STREAM = ['GET'];
const CONTROL = ['POST'];
const CONTROL_PREFIX = 'breakers/';
const ASSET_PREFIX = 'assets/';

/**
 * A live breaker dashboard: the page, a JSON snapshot, the health roll-up, server-sent events
 * and, with a token, operator controls. Nothing here touches a breaker's call path: breakers
 * are read once per `sampleInterval`, and only state changes are listened to, while a page is
 * open.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const settings = resolveOptions(options);
  const { registry, basePath, clock } = settings;
  const assets = loadAssets();
  const index = assets.get('index.html');
  if (index === undefined) {
    throw new Error(
      "createDashboard: the page's index.html is missing from the package's public/ directory: reinstall @breakwater/dashboard",
    );
  }
  const sampler = new HistorySampler(registry, settings.historyLength);
  let unsubscribe: (() => void) | undefined;
  const hub = new SseHub({
    maxClients: settings.maxClients,
    clock,
    onFirstClient: () => {
      unsubscribe = registry.on('stateChange', (change) => onStateChange(change));
    },
    onLastClient: () => {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  });
  const stopSampling = every(clock, settings.sampleInterval, () => {
    sampler.sample();
    if (hub.size > 0) hub.broadcast('stats', safeJson(statsEvent()));
  });
  let closed = false;

  const find = (name: string): CircuitBreakerEntry | undefined => {
    const tracked = sampler.get(name);
    if (tracked !== undefined && registry.has(name)) return tracked;
    // Made since the last sample: rare enough for a walk.
    let found: CircuitBreakerEntry | undefined;
    registry.forEach((breaker, each, criticality) => {
      if (found === undefined && each === name) found = { breaker, criticality };
    });
    return found;
  };

  const viewOf = (name: string, entry: CircuitBreakerEntry): BreakerView => {
    const tracked = sampler.get(name);
    const history = tracked?.breaker === entry.breaker ? tracked.history : undefined;
    return breakerView(entry.breaker, name, entry.criticality, history);
  };

  const extras = (): { authorization?: object; scans?: object } => {
    const { authorization, scans } = settings;
    return {
      ...(authorization && {
        authorization: { ...authorization.stats(), breaker: authorization.breaker.name },
      }),
      ...(scans && { scans: scans.stats() }),
    };
  };

  const snapshot = () => {
    const breakers: BreakerView[] = [];
    let worst = 0;
    registry.forEach((breaker, name, criticality) => {
      const view = viewOf(name, { breaker, criticality });
      worst = Math.max(worst, STATUS_BY_RANK.indexOf(view.status));
      breakers.push(view);
    });
    return {
      takenAt: clock.now(),
      controls: settings.token !== undefined,
      historyInterval: settings.sampleInterval,
      health: { status: STATUS_BY_RANK[worst] },
      breakers,
      ...extras(),
    };
  };

  const statsEvent = () => {
    const changed: Record<string, [number, number, number, number | null]> = Object.create(null);
    for (const t of sampler.changed) {
      changed[t.name] = [t.callsDelta, t.errorsDelta, t.rejections, rateOrNull(t.failureRate)];
    }
    return {
      at: clock.now(),
      health: { status: sampler.status },
      total: sampler.size,
      changed,
      ...(sampler.added.length > 0 && {
        added: sampler.added.map((t) => viewOf(t.name, t)),
      }),
      ...(sampler.removed.length > 0 && { removed: [...sampler.removed] }),
      ...extras(),
    };
  };

  function onStateChange({ breaker: name, from, to, reason }: BreakerEvents['stateChange']): void {
    const entry = find(name);
    if (entry === undefined) return;
    const last = entry.breaker.lastTransition();
    const at =
      last !== undefined && last.from === from && last.to === to && last.reason === reason
        ? last.at
        : clock.now();
    hub.broadcast('state', safeJson({ name, from, to, reason, at, view: viewOf(name, entry) }));
  }

  const serveEvents = (res: ServerResponse): void => {
    if (closed) {
      sendError(res, 503, 'the dashboard is shut down');
      return;
    }
    if (hub.full) {
      sendError(
        res,
        503,
        `too many open event streams (at most ${settings.maxClients}): close another dashboard tab, or raise maxClients`,
      );
      return;
    }
    hub.open(res, safeJson(snapshot()));
  };

  const serveControl = (req: IncomingMessage, res: ServerResponse, target: string): void => {
    // The request's body means nothing here; read it so the connection can be reused.
    req.resume();
    const refused = refusal(settings.token, req);
    if (refused !== undefined) {
      sendError(res, refused.status, refused.error);
      return;
    }
    const slash = target.lastIndexOf('/');
    const action = target.slice(slash + 1);
    if (!isAction(action)) {
      sendError(res, 404, `unknown action "${action}": use open, close, reset or disable`);
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(target.slice(0, slash));
    } catch {
      sendError(res, 400, 'the breaker name in the path is not valid URL encoding');
      return;
    }
    const entry = find(name);
    if (entry === undefined) {
      sendError(res, 404, `no breaker called ${JSON.stringify(name)}`);
      return;
    }
    ACTIONS[action](entry.breaker);
    settings.logger?.info(
      { breaker: name, action },
      `dashboard: an operator asked breaker "${name}" to ${action}`,
    );
    sendJson(res, 200, viewOf(name, entry));
  };

  const route = (rest: string): Route | undefined => {
    switch (rest) {
      case '':
        return { methods: READ, serve: (_req, res) => sendAsset(res, index) };
      case 'breakers':
        return { methods: READ, serve: (_req, res) => sendJson(res, 200, snapshot()) };
      case 'health':
        return {
          methods: READ,
          serve: (_req, res) => {
            const health = registry.health();
            sendJson(res, health.status === 'critical' ? 503 : 200, health);
          },
        };
      case 'events':
        return { methods: STREAM, serve: (_req, res) => serveEvents(res) };
    }
    if (rest.startsWith(ASSET_PREFIX)) {
      const asset = assets.get(rest.slice(ASSET_PREFIX.length));
      return asset && { methods: READ, serve: (_req, res) => sendAsset(res, asset) };
    }
    if (rest.startsWith(CONTROL_PREFIX)) {
      const target = rest.slice(CONTROL_PREFIX.length);
      // breakers/<name>/<action>: a name may hold an unencoded "/", the action never does.
      if (target.lastIndexOf('/') <= 0) return undefined;
      return { methods: CONTROL, serve: (req, res) => serveControl(req, res, target) };
    }
    return undefined;
  };

  const handler = (req: IncomingMessage, res: ServerResponse, next?: Next): void => {
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (basePath !== '/' && path === basePath.slice(0, -1)) {
      // The page's URLs are relative: they resolve only under the slash.
      setSecurityHeaders(res);
      res.writeHead(308, { Location: basePath + (queryAt < 0 ? '' : url.slice(queryAt)) });
      res.end();
      return;
    }
    const found = path.startsWith(basePath) ? route(path.slice(basePath.length)) : undefined;
    if (found === undefined) {
      passOn(res, next);
      return;
    }
    setSecurityHeaders(res);
    const method = req.method ?? 'GET';
    if (!found.methods.includes(method)) {
      sendError(res, 405, `${method} is not allowed here: use ${found.methods.join(' or ')}`, {
        Allow: found.methods.join(', '),
      });
      return;
    }
    try {
      found.serve(req, res);
    } catch (error) {
      fail(settings, res, error, next);
    }
  };

  return Object.assign(handler, {
    close(): void {
      if (closed) return;
      closed = true;
      stopSampling();
      hub.close();
      unsubscribe?.();
      unsubscribe = undefined;
    },
  });
}

interface CircuitBreakerEntry {
  readonly breaker: CircuitBreaker<unknown>;
  readonly criticality: Criticality;
}

interface Route {
  readonly methods: readonly string[];
  serve(req: IncomingMessage, res: ServerResponse): void;
}

function sendAsset(res: ServerResponse, asset: Asset): void {
  res.writeHead(200, {
    'Content-Type': asset.contentType,
    'Content-Length': asset.body.length,
    // Revalidated on each load, so an upgraded package's page is never mixed with an old one.
    'Cache-Control': 'no-cache',
  });
  res.end(asset.body);
}

function passOn(res: ServerResponse, next: Next | undefined): void {
  if (next !== undefined) {
    next();
    return;
  }
  setSecurityHeaders(res);
  sendError(res, 404, 'not found: the dashboard has no such page');
}

function fail(
  settings: DashboardSettings,
  res: ServerResponse,
  error: unknown,
  next: Next | undefined,
): void {
  if (next !== undefined) {
    next(error);
    return;
  }
  if (settings.logger !== undefined) {
    settings.logger.error({ err: error }, 'dashboard: a request failed');
  } else {
    process.emitWarning(`dashboard: a request failed: ${String(error)}`, {
      code: 'BREAKWATER_DASHBOARD_ERROR',
    });
  }
  if (res.headersSent) res.destroy();
  else sendError(res, 500, 'the dashboard failed to answer this request: see the server log');
}
