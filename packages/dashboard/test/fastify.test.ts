import { BreakerRegistry } from '@breakwater/core';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BreakerView, createDashboard, type DashboardHandler } from '../src/index.js';
import { bodyOf, readEventStream, type SnapshotBody } from './fixture.js';

const TOKEN = 'fastify-token-0123456';
const registry = new BreakerRegistry();
const app = Fastify();
let dashboard: DashboardHandler;
let origin = '';

beforeAll(async () => {
  dashboard = createDashboard({ registry, token: TOKEN, basePath: '/dashboard/' });
  // The dashboard answers on the raw objects; Fastify stays out of the response.
  const mount = (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    dashboard(request.raw, reply.raw);
  };
  app.all('/dashboard', mount);
  app.all('/dashboard/*', mount);
  app.get('/elsewhere', () => ({ fastify: true }));
  origin = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  dashboard.close();
  await app.close();
  registry.dispose();
});

describe('under Fastify 5', () => {
  it('serves the page, redirecting the base path to its slash', async () => {
    const redirect = await fetch(`${origin}/dashboard`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const page = await fetch(`${origin}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<html');
    expect((await fetch(`${origin}/dashboard/assets/app.js`)).status).toBe(200);
    expect(await bodyOf(await fetch(`${origin}/elsewhere`))).toEqual({ fastify: true });
  });

  it('answers JSON, streams state changes and takes a control with the token', async () => {
    const breaker = registry.get('orders');
    const snapshot = await bodyOf<SnapshotBody>(await fetch(`${origin}/dashboard/breakers`));
    expect(snapshot.breakers.map((view) => [view.name, view.state])).toEqual([
      ['orders', 'closed'],
    ]);

    const stream = await readEventStream(`${origin}/dashboard/events`);
    expect(stream.status).toBe(200);
    await stream.next('snapshot');

    const refused = await fetch(`${origin}/dashboard/breakers/orders/open`, { method: 'POST' });
    expect(refused.status).toBe(401);
    expect(breaker.state().name).toBe('closed');

    const opened = await fetch(`${origin}/dashboard/breakers/orders/open`, {
      method: 'POST',
      headers: { 'X-Breakwater-Token': TOKEN },
    });
    expect(opened.status).toBe(200);
    expect((await bodyOf<BreakerView>(opened)).state).toBe('forced_open');
    expect(breaker.state()).toMatchObject({ name: 'open', forced: true });
    expect((await stream.next('state')).data).toMatchObject({
      name: 'orders',
      to: 'open',
      view: { state: 'forced_open' },
    });
    stream.close();
    expect((await fetch(`${origin}/dashboard/health`)).status).toBe(200);
  });
});
