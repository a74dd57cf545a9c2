import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveControl } from './controls.js';
import { setSecurityHeaders } from './headers.js';
import { type DashboardOptions, type DashboardSettings, resolveOptions } from './options.js';
import { Payloads } from './payloads.js';
import { reportFailure } from './report.js';
import { safeJson, sendError, sendJson } from './respond.js';
import { locate, METHODS, type Route } from './routing.js';
import { HistorySampler } from './sampler.js';
import { SseHub } from './sse-hub.js';
import { type Asset, loadAssets, sendAsset } from './static-assets.js';
import { every } from './timer.js';

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

/**
 * A live breaker dashboard: the page, a JSON snapshot, the health roll-up, server-sent events
 * and, with a token, operator controls. Nothing here touches a breaker's call path: breakers
 * are read once per `sampleInterval`, and state changes are listened to only while a page is
 * open.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const settings = resolveOptions(options);
  const { registry } = settings;
  const assets = loadAssets();
  const page = assets.get('index.html');
  if (page === undefined) {
    throw new Error(
      "createDashboard: the page's index.html is missing from the package's public/ directory: reinstall @breakwater/dashboard",
    );
  }
  const sampler = new HistorySampler(registry, settings.historyLength);
  const payloads = new Payloads(settings, sampler);
  let unsubscribe: (() => void) | undefined;
  const stopListening = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  const hub = new SseHub({
    maxClients: settings.maxClients,
    clock: settings.clock,
    onFirstClient: () => {
      unsubscribe = registry.on('stateChange', (change) => {
        const event = payloads.stateChange(change);
        if (event !== undefined) hub.broadcast('state', safeJson(event));
      });
    },
    onLastClient: stopListening,
  });
  const stopSampling = every(settings.clock, settings.sampleInterval, () => {
    try {
      sampler.sample();
      if (hub.size > 0) hub.broadcast('stats', safeJson(payloads.stats()));
    } catch (error) {
      // From a timer a throw would end the process; the next sample tries again.
      reportFailure(settings.logger, error, 'dashboard: a sample failed');
    }
  });
  let closed = false;

  const serveEvents = (res: ServerResponse): void => {
    if (closed) {
      sendError(res, 503, 'the dashboard is shut down');
    } else if (hub.full) {
      sendError(
        res,
        503,
        `too many open event streams (at most ${settings.maxClients}): close another dashboard tab, or raise maxClients`,
      );
    } else {
      hub.open(res, safeJson(payloads.snapshot()));
    }
  };

  const serve = (route: Route<Asset>, req: IncomingMessage, res: ServerResponse): void => {
    switch (route.kind) {
      case 'page':
        sendAsset(res, page);
        break;
      case 'asset':
        sendAsset(res, route.asset);
        break;
      case 'breakers':
        sendJson(res, 200, payloads.snapshot());
        break;
      case 'health': {
        const health = registry.health();
        sendJson(res, health.status === 'critical' ? 503 : 200, health);
        break;
      }
      case 'events':
        serveEvents(res);
        break;
      case 'control':
        serveControl(req, res, route, settings.token, payloads, settings.logger);
        break;
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse, next?: Next): void => {
    // Express strips its mount path from req.url; originalUrl keeps it.
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const destination = locate(url, settings.basePath, (file) => assets.get(file));
    if (destination === undefined) {
      passOn(res, next);
      return;
    }
    setSecurityHeaders(res);
    if ('redirect' in destination) {
      res.writeHead(308, { Location: destination.redirect });
      res.end();
      return;
    }
    const { route } = destination;
    const methods = METHODS[route.kind];
    const method = req.method ?? 'GET';
    if (!methods.includes(method)) {
      sendError(res, 405, `${method} is not allowed here: use ${methods.join(' or ')}`, {
        Allow: methods.join(', '),
      });
      return;
    }
    try {
      serve(route, req, res);
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
      stopListening();
    },
  });
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
  reportFailure(settings.logger, error, 'dashboard: a request failed');
  if (res.headersSent) res.destroy();
  else sendError(res, 500, 'the dashboard failed to answer this request: see the server log');
}
