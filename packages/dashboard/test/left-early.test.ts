import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

describe('an events request whose client left before the handler ran', () => {
  it('takes no slot and leaves no listener on the registry', async () => {
    const breakerClock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock: breakerClock });
    const breaker = registry.get('payments', { failureThreshold: 1, openDuration: 5000 });
    await breaker.execute(failingCall).catch(() => {});
    const dashboard = createDashboard({ registry, maxClients: 1, clock: new ManualClock(0) });
    handler = dashboard;
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
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    for (let i = 0; i < 2; i++) {
      const done = new Promise<void>((resolve) => {
        handled = resolve;
      });
      const req = get(`${url}?late`, { agent: false });
      req.on('error', () => {});
      setTimeout(() => req.destroy(), 10);
      await done;
    }
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
