import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { BreakerRegistry, ManualClock } from '@breakwater/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard, type DashboardHandler } from '../src/index.js';
import { failingCall, readEventStream } from './fixture.js';

let server: Server | undefined;
let handler: DashboardHandler | undefined;
afterEach(async () => {
  handler?.close();
  server?.closeAllConnections();
  await new Promise((resolve) =>
    server === undefined ? resolve(undefined) : server.close(resolve),
  );
  server = undefined;
  handler = undefined;
});

/** A server whose `?late` requests reach the dashboard 20 ms after their client has gone. */
async function lateServer(dashboard: DashboardHandler) {
  let handled: () => void = () => {};
  // `?late`: an asynchronous middleware (auth, a session store) that hands the request on
  // only after its client has gone.
  server = createServer((req, res) => {
    if (!req.url?.endsWith('?late')) {
      dashboard(req, res);
      return;
    }
    res.on('close', () =>
      setTimeout(() => {
        dashboard(req, res);
        handled();
      }, 20),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    /** Asks for `path?late` and leaves before the dashboard sees it. */
    async leaveEarly(path: string): Promise<void> {
      const done = new Promise<void>((resolve) => {
        handled = resolve;
      });
      const req = get(`${origin}${path}?late`, { agent: false });
      req.on('error', () => {});
      setTimeout(() => req.destroy(), 10);
      await done;
    },
  };
}

describe('a breakers request whose client left before the handler ran', () => {
  it('takes no download slot: later downloads are still answered', async () => {
    const registry = new BreakerRegistry();
    registry.get('payments');
    const dashboard = createDashboard({ registry, maxClients: 2, clock: new ManualClock(0) });
    handler = dashboard;
    const { origin, leaveEarly } = await lateServer(dashboard);
    for (let i = 0; i < 3; i++) await leaveEarly('/breakers');
    const answer = await fetch(`${origin}/breakers`);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { breakers: unknown[] }).breakers).toHaveLength(1);
    registry.dispose();
  });
});

describe('an events request pipelined behind another on one connection', () => {
  it('is answered with its snapshot once the request before it is', async () => {
    const registry = new BreakerRegistry();
    registry.get('payments');
    const dashboard = createDashboard({ registry, clock: new ManualClock(0) });
    handler = dashboard;
    const { origin } = await lateServer(dashboard);
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    const snapshotSeen = new Promise<void>((resolve) => {
      socket.on('data', (chunk: string) => {
        received += chunk;
        if (received.includes('event: snapshot')) resolve();
      });
    });
    // Both requests in one write: Node gives the second response its socket only after the
    // first is sent.
    socket.write(
      'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    await snapshotSeen;
    socket.destroy();
    expect(received.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(received).toContain('"name":"payments"');
    registry.dispose();
  });
});

describe('an events request whose client left before the handler ran', () => {
  it('takes no slot and leaves no listener on the registry', async () => {
    const breakerClock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock: breakerClock });
    const breaker = registry.get('payments', { failureThreshold: 1, openDuration: 5000 });
    await breaker.execute(failingCall).catch(() => {});
    const dashboard = createDashboard({ registry, maxClients: 1, clock: new ManualClock(0) });
    handler = dashboard;
    const { origin, leaveEarly } = await lateServer(dashboard);
    const url = `${origin}/events`;
    for (let i = 0; i < 2; i++) await leaveEarly('/events');
    // A stateChange listener would make the open breaker arm its half-open timer.
    expect(breakerClock.pendingTimers).toBe(0);
    const stream = await readEventStream(url);
    expect(stream.status).toBe(200);
    await stream.next('snapshot');
    expect(breakerClock.pendingTimers).toBe(1);
    stream.close();
    registry.dispose();
  });
});
