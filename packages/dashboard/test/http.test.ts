import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BreakerRegistry, type Logger, ManualClock } from '@breakwater/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard, type DashboardHandler } from '../src/index.js';
import {
  bodyOf,
  failingCall,
  rawRequest,
  readEventStream,
  type SnapshotBody,
  startDashboardServer,
} from './fixture.js';

const PUBLIC = new URL('../public/', import.meta.url);
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Parameters<typeof startDashboardServer>[0] = {}) {
  const server = await startDashboardServer(options);
  cleanups.push(() => server.close());
  return server;
}

/** A node:http server that hands every request to `handle`: the framework a test imitates. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A request with its path sent as written: fetch() would resolve "..", a client can send it. */
function raw(origin: string, path: string, method = 'GET') {
  return rawRequest(origin, path, { method });
}

function expectSecurityHeaders(headers: Headers | IncomingMessage['headers']): void {
  const get = (name: string) =>
    headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined);
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('referrer-policy')).toBe('no-referrer');
  expect(get('content-security-policy')).toBe(CSP);
  expect(get('x-frame-options')).toBe('DENY');
}

describe('the page and its files', () => {
  it('serves index.html at the base path under a CSP that forbids inline and outside scripts', async () => {
    const { url } = await start();
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expectSecurityHeaders(response.headers);
    expect(await response.text()).toBe(readFileSync(new URL('index.html', PUBLIC), 'utf8'));
  });

  it('serves every file of public/ under assets/ with its content type', async () => {
    const { url } = await start();
    const types: Record<string, string> = {
      html: 'text/html; charset=utf-8',
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
    };
    const files = readdirSync(PUBLIC).filter((file) => (file.split('.').pop() ?? '') in types);
    expect(files).toEqual(expect.arrayContaining(['index.html', 'app.js', 'app.css']));
    for (const file of files) {
      const response = await fetch(`${url}assets/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get('content-type')).toBe(types[file.split('.').pop() ?? '']);
      expectSecurityHeaders(response.headers);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(
        readFileSync(new URL(file, PUBLIC)),
      );
    }
  });

  it('answers 404 to anything outside the allowlist, traversals included', async () => {
    const { origin } = await start();
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/%2E%2E%2Fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets//etc/passwd',
      '/assets/',
      '/assets',
      '/assets/APP.JS',
      '/package.json',
      '/src/index.ts',
    ]) {
      const response = await raw(origin, path);
      expect(response.status, path).toBe(404);
      expect(JSON.parse(response.body), path).toEqual({
        error: 'not found: the dashboard has no such page',
      });
      expectSecurityHeaders(response.headers);
    }
  });

  it('answers HEAD like GET without a body, and 405 with Allow to other methods', async () => {
    const { origin } = await start();
    const head = await raw(origin, '/breakers', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(head.body).toBe('');
    for (const [path, allow] of [
      ['/', 'GET, HEAD'],
      ['/breakers', 'GET, HEAD'],
      ['/health', 'GET, HEAD'],
      ['/events', 'GET'],
      ['/assets/app.js', 'GET, HEAD'],
    ] as const) {
      const response = await raw(origin, path, 'POST');
      expect(response.status, path).toBe(405);
      expect(response.headers.allow).toBe(allow);
      expectSecurityHeaders(response.headers);
    }
  });
});

describe('basePath and next()', () => {
  it('redirects the base path without its slash (308, query kept), so relative URLs resolve', async () => {
    const { origin, url } = await start({ basePath: '/ops/dashboard' });
    expect(url).toBe(`${origin}/ops/dashboard/`);
    const redirect = await raw(origin, '/ops/dashboard?tab=1');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('/ops/dashboard/?tab=1');
    expectSecurityHeaders(redirect.headers);
    expect((await fetch(url)).headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await fetch(`${url}breakers?x=1`)).status).toBe(200);
    expect((await raw(origin, '/breakers')).status).toBe(404);
    expect((await raw(origin, '/ops/dashboardx/breakers')).status).toBe(404);
  });

  it('passes paths outside the base and unknown paths under it to next(), untouched', async () => {
    const registry = new BreakerRegistry();
    const handler = createDashboard({ registry, basePath: '/ops/' });
    cleanups.push(() => handler.close());
    const origin = await serve((req, res) =>
      handler(req, res, (error) => {
        res.writeHead(418, { 'Content-Type': 'text/plain' });
        res.end(`next(${String(error)}) for ${req.url}`);
      }),
    );
    for (const path of [
      '/',
      '/other',
      '/ops/nothing',
      '/ops/assets/missing.js',
      '/ops/breakers/x',
    ]) {
      const response = await raw(origin, path);
      expect(response.status, path).toBe(418);
      expect(response.body).toBe(`next(undefined) for ${path}`);
      expect(response.headers['content-security-policy']).toBeUndefined();
    }
    expect((await raw(origin, '/ops/health')).status).toBe(200);
  });

  it("reads req.originalUrl first: a framework's mount strips its path from req.url", async () => {
    const handler = createDashboard({ registry: new BreakerRegistry(), basePath: '/ops/' });
    cleanups.push(() => handler.close());
    const origin = await serve((req, res) => {
      const url = req.url ?? '/';
      if (!url.startsWith('/ops')) {
        res.writeHead(404).end();
        return;
      }
      // What Express's app.use('/ops', handler) hands the handler.
      Object.assign(req, { originalUrl: url, url: url.slice('/ops'.length) || '/' });
      handler(req, res);
    });
    expect((await raw(origin, '/ops/health')).status).toBe(200);
    expect((await raw(origin, '/ops')).headers.location).toBe('/ops/');
  });

  it('refuses a basePath that is not a URL path', () => {
    const registry = new BreakerRegistry();
    for (const basePath of ['dashboard', '', '/a b/', '//evil.example/', '/x?y', 42]) {
      expect(
        () => createDashboard({ registry, basePath: basePath as string }),
        String(basePath),
      ).toThrow(/option "basePath" must be a URL path starting with "\/"/);
    }
  });
});

describe('a failure inside the handler', () => {
  // Nothing the dashboard reads throws on a working system; a broken clock stands in for the
  // unexpected (a source that throws only loses its panel: see below).
  function breakableClock() {
    const clock = new ManualClock(0);
    let broken = false;
    return {
      now: () => {
        if (broken) throw new Error('clock unavailable');
        return clock.now();
      },
      setTimeout: clock.setTimeout.bind(clock),
      clearTimeout: clock.clearTimeout.bind(clock),
      breakNow: () => {
        broken = true;
      },
    };
  }

  it('answers 500 with JSON and reports the error to the logger', async () => {
    const errors: unknown[] = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (fields, message) => errors.push([message, (fields.err as Error).message]),
    };
    const clock = breakableClock();
    const { url } = await start({ clock, logger });
    expect((await fetch(`${url}health`)).status).toBe(200);
    clock.breakNow();
    const response = await fetch(`${url}breakers`);
    expect(response.status).toBe(500);
    expectSecurityHeaders(response.headers);
    expect(await bodyOf(response)).toEqual({
      error: 'the dashboard failed to answer this request: see the server log',
    });
    expect(errors).toEqual([['dashboard: a request failed', 'clock unavailable']]);
    expect((await fetch(`${url}health`)).status).toBe(200);
  });

  it('goes to next(error) when the framework gave one', async () => {
    const clock = breakableClock();
    const handler: DashboardHandler = createDashboard({ registry: new BreakerRegistry(), clock });
    cleanups.push(() => handler.close());
    clock.breakNow();
    const origin = await serve((req, res) =>
      handler(req, res, (error) => {
        res.writeHead(599);
        res.end((error as Error).message);
      }),
    );
    const response = await raw(origin, '/breakers');
    expect(response).toMatchObject({ status: 599, body: 'clock unavailable' });
  });
});

describe('a process with a dashboard', () => {
  it('exits on its own: the sampler never keeps it alive', () => {
    const script = `
      import { BreakerRegistry } from '@breakwater/core';
      import { createDashboard } from '@breakwater/dashboard';
      const handler = createDashboard({ registry: new BreakerRegistry(), sampleInterval: 10 });
      setTimeout(() => console.log('sampled for 100 ms', typeof handler.close), 100);
    `;
    const child = spawnSync(
      process.execPath,
      ['--conditions=breakwater-source', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 15_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(child.stdout).toBe('sampled for 100 ms function\n');
  });
});

describe('close()', () => {
  it('stops its timers, ends its streams and stops listening to the registry', async () => {
    const breakerClock = new ManualClock(0);
    const dashboardClock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock: breakerClock });
    cleanups.push(() => registry.dispose());
    const { url, handler } = await start({ registry, clock: dashboardClock });
    const breaker = registry.get('payments', { failureThreshold: 1, openDuration: 5000 });
    await breaker.execute(failingCall).catch(() => {});
    expect(breaker.state().name).toBe('open');
    // Open and unheard, the breaker arms no timer: it turns half-open when next asked.
    expect(breakerClock.pendingTimers).toBe(0);
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    // A page listening: the breaker reports its half-open turn on time, so it arms a timer.
    expect(breakerClock.pendingTimers).toBe(1);
    expect(dashboardClock.pendingTimers).toBe(2); // the sampler, and the stream's ping
    handler.close();
    await stream.ended;
    expect(breakerClock.pendingTimers).toBe(0);
    expect(dashboardClock.pendingTimers).toBe(0);
    // Read after close(): fresh each time, and no listener taken up again.
    expect((await bodyOf<SnapshotBody>(await fetch(`${url}breakers`))).breakers[0]?.state).toBe(
      'open',
    );
    breaker.forceOpen();
    expect((await bodyOf<SnapshotBody>(await fetch(`${url}breakers`))).breakers[0]?.state).toBe(
      'forced_open',
    );
    expect((await fetch(`${url}health`)).status).toBe(200);
    expect(breakerClock.pendingTimers).toBe(0);
  });
});
