import { once } from 'node:events';
import { createServer, get, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakerRegistry } from '@breakwater/core';
import { afterEach } from 'vitest';
import {
  type BreakerView,
  createDashboard,
  type DashboardHandler,
  type DashboardOptions,
} from '../src/index.js';

/** A dashboard served by node:http on a free loopback port. */
export interface DashboardServer {
  /** The dashboard's page: `http://127.0.0.1:<port><basePath>` (ends with "/"). */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly registry: BreakerRegistry;
  readonly handler: DashboardHandler;
  readonly server: Server;
  /** Closes the dashboard (its streams end), every connection and the server. */
  close(): Promise<void>;
}

/**
 * Starts a real node:http server on 127.0.0.1:0 with `createDashboard(options)` as its only
 * handler. `registry` defaults to a new BreakerRegistry, disposed on close (a given one is
 * the caller's).
 */
export async function startDashboardServer(
  options: Partial<DashboardOptions> = {},
): Promise<DashboardServer> {
  const registry = options.registry ?? new BreakerRegistry();
  const handler = createDashboard({ ...options, registry });
  const server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: origin + (options.basePath ?? '/').replace(/\/?$/, '/'),
    origin,
    registry,
    handler,
    server,
    async close() {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (options.registry === undefined) registry.dispose();
    },
  };
}

/**
 * `startDashboardServer` for the tests of one file: each server a test starts is closed after
 * that test, passed or failed. `defaults` go under every test's own options.
 */
export function dashboardPerTest(
  defaults: Partial<DashboardOptions> = {},
): (options?: Partial<DashboardOptions>) => Promise<DashboardServer> {
  const started: DashboardServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  return async (options = {}) => {
    const server = await startDashboardServer({ ...defaults, ...options });
    started.push(server);
    return server;
  };
}

/** An operation that fails with an error the default failure policy counts (a plain Error it ignores). */
export function failingCall(): Promise<never> {
  return Promise.reject(
    Object.assign(new Error('backend unavailable'), { category: 'unavailable' }),
  );
}

export function succeedingCall(): Promise<string> {
  return Promise.resolve('ok');
}

/** One server-sent event as read off the wire. */
export interface ReceivedEvent {
  readonly event: string;
  /** The event's data, parsed as JSON. */
  readonly data: unknown;
}

/** An `events` stream read with node:http, frame by frame. */
export interface EventStreamReader {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Comment lines received so far (`: ping` arrives as "ping"). */
  readonly comments: readonly string[];
  /** The next `event` not yet taken (earlier events of other names stay queued). */
  next(event: string, timeoutMs?: number): Promise<ReceivedEvent>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** Closes the connection from the client's side. */
  close(): void;
}

/** Opens `url` as an event stream; resolves once the response headers are in. */
export function readEventStream(url: string): Promise<EventStreamReader> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      res.setEncoding('utf8');
      const queue: ReceivedEvent[] = [];
      const comments: string[] = [];
      const waiting = new Set<() => void>();
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data: string | undefined;
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data = line.slice(6);
          }
          if (data !== undefined) queue.push({ event, data: JSON.parse(data) });
        }
        for (const wake of [...waiting]) wake();
      });
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        comments,
        ended,
        close: () => req.destroy(),
        next(event, timeoutMs = 2000) {
          return new Promise((found, fail) => {
            const look = (): boolean => {
              const at = queue.findIndex((received) => received.event === event);
              if (at < 0) return false;
              found(queue.splice(at, 1)[0] as ReceivedEvent);
              return true;
            };
            if (look()) return;
            const timer = setTimeout(() => {
              waiting.delete(wake);
              fail(new Error(`no "${event}" event within ${timeoutMs} ms`));
            }, timeoutMs);
            const wake = (): void => {
              if (!look()) return;
              clearTimeout(timer);
              waiting.delete(wake);
            };
            waiting.add(wake);
          });
        },
      });
    });
    req.on('error', reject);
  });
}

/** The body of GET breakers (and of the `snapshot` event). */
export interface SnapshotBody {
  readonly takenAt: number;
  readonly controls: boolean;
  readonly historyInterval: number;
  readonly historyLength: number;
  readonly health: { readonly status: string };
  readonly breakers: readonly BreakerView[];
  readonly authorization?: Record<string, unknown> | null;
  readonly scans?: Record<string, unknown> | null;
}

/** A response as read off the wire. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A request with node:http, `path` sent exactly as given (fetch would normalize a traversal
 * away) and any headers, Host included.
 */
export function rawRequest(
  origin: string,
  path: string,
  options: { readonly method?: string; readonly headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const { method = 'GET', headers = {} } = options;
    const req = request(`${origin}/`, { method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A response's JSON body, typed as the test expects it to be. */
export async function bodyOf<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
