import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostAllowed } from './allowed-hosts.js';
import { serveControl } from './controls.js';
import { setSecurityHeaders } from './headers.js';
import { HealthCache } from './health-cache.js';
import { type DashboardOptions, type DashboardSettings, resolveOptions } from './options.js';
import { Payloads, type StateChange } from './payloads.js';
import { reportFailure } from './report.js';
import { safeJson, sendError, sendJsonBody, stamped } from './respond.js';
import { locate, METHODS, type Route } from './routing.js';
import { HistorySampler } from './sampler.js';
import { SnapshotCache } from './snapshot-cache.js';
import { Sources } from './sources.js';
import { frame, gone, SseHub } from './sse-hub.js';
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
 * open or a snapshot is held (a listener does a few Map lookups per transition).
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
  const sources = new Sources(settings.authorization, settings.scans, settings.logger);
  const payloads = new Payloads(settings, sampler, sources);
  const version = () => registry.version;
  const snapshots = new SnapshotCache(() => payloads.snapshot(), settings.clock, version);
  const healths = new HealthCache(registry, settings.clock);
  const invalidate = (): void => {
    snapshots.invalidate();
    healths.invalidate();
  };
  let unsubscribe: (() => void) | undefined;
  // Runs inside the breaker's transition: Map lookups only, never a walk of the registry.
  const onStateChange = (change: StateChange): void => {
    healths.changed(change.from, change.to, registry.criticalityOf(change.breaker));
    // One breaker's view, for the open streams and for those a held snapshot will start.
    const entry = hub.size > 0 || snapshots.holding ? payloads.find(change.breaker) : undefined;
    if (entry === undefined) {
      snapshots.changed();
      return;
    }
    const text = frame('state', safeJson(payloads.stateChange(change, entry)));
    snapshots.changed(text);
    hub.broadcastFrame(text);
  };
  // While a stream is open or a snapshot is held; subscribing walks every breaker once, so it
  // is done beside a snapshot's own walk, and undone from the sampler's timer (never from inside
  // a transition, where a stream dropped for its backlog would otherwise undo it).
  const follow = (): void => {
    unsubscribe ??= registry.on('stateChange', onStateChange);
  };
  const stopListening = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  const cached = <T>(cache: SnapshotCache<T>) => {
    // Shut down, nothing would tell a cache it went stale: each read is fresh.
    if (closed) cache.invalidate();
    else follow();
    return cache.get();
  };
  const hub = new SseHub({
    maxClients: settings.maxClients,
    clock: settings.clock,
    onFirstClient: follow,
  });
  const stopSampling = every(settings.clock, settings.sampleInterval, () => {
    try {
      sampler.sample();
      invalidate();
      if (hub.size === 0) stopListening();
      else hub.broadcast('stats', safeJson(payloads.stats()));
    } catch (error) {
      // From a timer a throw would end the process; the next sample tries again.
      reportFailure(settings.logger, error, 'dashboard: a sample failed');
    }
  });
  let closed = false;
  // GET breakers answers being written: one shared body, but a bounded number of writes.
  let downloads = 0;

  const serveSnapshot = (res: ServerResponse): void => {
    // The client left before we ran: its 'close' is past, so a slot taken would never be freed.
    if (gone(res)) return;
    if (downloads >= settings.maxClients) {
      sendError(
        res,
        503,
        `too many snapshot downloads in flight (at most ${settings.maxClients}): try again in a moment`,
        { 'Retry-After': '1' },
      );
      return;
    }
    downloads++;
    res.once('close', () => downloads--);
    sendJsonBody(res, 200, stamped(settings.clock.now(), cached(snapshots).body));
  };

  const serveEvents = (res: ServerResponse): void => {
    if (closed) {
      sendError(res, 503, 'the dashboard is shut down');
    } else if (gone(res)) {
      // The client left before we ran: nobody to answer, and no slot to take.
    } else if (hub.full) {
      sendError(
        res,
        503,
        `too many open event streams (at most ${settings.maxClients}): close another dashboard tab, or raise maxClients`,
      );
    } else {
      const { body, frames } = cached(snapshots);
      hub.open(res, stamped(settings.clock.now(), body), frames);
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
        serveSnapshot(res);
        break;
      case 'health': {
        // Shared like the snapshot, but never refused for being busy: a probe reads 503 as critical.
        if (closed) healths.invalidate();
        else follow();
        const { status, parts } = healths.get();
        sendJsonBody(res, status === 'critical' ? 503 : 200, parts);
        break;
      }
      case 'events':
        serveEvents(res);
        break;
      case 'control':
        // What the operator just did shows in the next read.
        serveControl(req, res, route, settings.token, payloads, settings.logger, invalidate);
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
    if (!hostAllowed(req.headers.host, settings.allowedHosts)) {
      sendError(
        res,
        421,
        'this dashboard does not answer to the host name in the Host header: add it to the allowedHosts option (loopback names and IP addresses are always accepted)',
      );
      return;
    }
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
      invalidate();
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
