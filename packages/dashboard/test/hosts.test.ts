import { describe, expect, it } from 'vitest';
import { dashboardPerTest, rawRequest } from './fixture.js';

const start = dashboardPerTest();

/** A request with the Host header a DNS-rebinding page (or a proxy) would send. */
function withHost(origin: string, path: string, host: string, method = 'GET') {
  return rawRequest(origin, path, { method, headers: { Host: host } });
}

const REFUSED = {
  error:
    'this dashboard does not answer to the host name in the Host header: add it to the allowedHosts option (loopback names and IP addresses are always accepted)',
};

describe('the Host header', () => {
  it('answers 421 to a name it was not given, on every route: a rebound page reads nothing', async () => {
    const { origin, registry } = await start({ token: 'a-token-long-enough' });
    const breaker = registry.get('tenant-42');
    for (const [path, method] of [
      ['/', 'GET'],
      ['/breakers', 'GET'],
      ['/health', 'GET'],
      ['/events', 'GET'],
      ['/assets/app.js', 'GET'],
      ['/breakers/tenant-42/open', 'POST'],
    ] as const) {
      const response = await withHost(origin, path, 'attacker.example:8080', method);
      expect(response.status, path).toBe(421);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(JSON.parse(response.body), path).toEqual(REFUSED);
      expect(response.body).not.toContain('tenant-42');
    }
    expect(breaker.state().name).toBe('closed');
  });

  it('answers loopback names and IP literals by default', async () => {
    const { origin } = await start();
    for (const host of [
      'localhost:1234',
      'app.localhost',
      '127.0.0.1',
      '[::1]:8080',
      '192.0.2.7',
    ]) {
      expect((await withHost(origin, '/health', host)).status, host).toBe(200);
    }
  });

  it('answers the allowedHosts too, and leaves paths outside the dashboard to the server', async () => {
    const { origin } = await start({ allowedHosts: ['dash.internal'], basePath: '/ops/' });
    expect((await withHost(origin, '/ops/breakers', 'DASH.internal:9443')).status).toBe(200);
    expect((await withHost(origin, '/ops/breakers', 'other.internal')).status).toBe(421);
    // Not the dashboard's path: the 404 for no next(), not a 421 about a host.
    const outside = await withHost(origin, '/elsewhere', 'other.internal');
    expect([outside.status, JSON.parse(outside.body)]).toEqual([
      404,
      { error: 'not found: the dashboard has no such page' },
    ]);
  });
});
