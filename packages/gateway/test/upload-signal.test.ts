import { getEventListeners } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSignal } from '../src/server/route-context.js';
import { ClientGoneError } from '../src/upload/index.js';
import { RawClient, send } from './upload-harness.js';

const shutdown = new AbortController();
let app: FastifyInstance;
let port: number;
const seen: AbortSignal[] = [];
const held: AbortSignal[] = [];
let release: (() => void) | undefined;
let lateSignal: ((signal: AbortSignal) => void) | undefined;

beforeAll(async () => {
  app = Fastify();
  // As the scan routes use it: one signal per request, over the gateway's lifetime signal.
  app.post('/quick', async (request, reply) => {
    const signal = requestSignal(request, reply, shutdown.signal);
    seen.push(signal);
    return { listening: getEventListeners(shutdown.signal, 'abort').length };
  });
  app.post('/held', async (request, reply) => {
    const signal = requestSignal(request, reply, shutdown.signal);
    held.push(signal);
    const reason = await new Promise<unknown>((resolve) => {
      signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
      release?.();
    });
    return { aborted: String(reason) };
  });
  // As a scan route whose client left while it was being authorized (a slow SpiceDB): the
  // response has closed before the signal is asked for.
  app.post('/late', async (request, reply) => {
    if (!reply.raw.destroyed) await new Promise((resolve) => reply.raw.once('close', resolve));
    lateSignal?.(requestSignal(request, reply, shutdown.signal));
    return {};
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
});

afterAll(async () => {
  await app?.close();
});

/** What a long-lived signal keeps for each signal composed over it (Node's AbortSignal.any). */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find(
    (symbol) => symbol.description === 'kDependantSignals',
  );
  const set = key === undefined ? undefined : (signal as unknown as Record<symbol, unknown>)[key];
  return set instanceof Set ? set.size : 0;
}

describe('requestSignal', () => {
  it('leaves nothing on the shutdown signal once each request is over', async () => {
    for (let i = 0; i < 20; i++) {
      const response = await send(port, '/quick', {});
      // While the request runs, the shutdown signal has its one listener.
      expect(JSON.parse(response.body)).toEqual({ listening: 1 });
    }
    expect(seen).toHaveLength(20);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    expect(dependants(shutdown.signal)).toBe(0);
  });

  it('aborts a request in flight when its client goes away, and leaves nothing behind', async () => {
    const client = new RawClient(port);
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    await client.write('POST /held HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n');
    await started;
    const signal = held.at(-1);
    client.destroy();
    await client.closed();
    await expect.poll(() => signal?.aborted).toBe(true);
    expect(String(signal?.reason)).toMatch(/the client went away/);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('aborts at once, with nothing left on the shutdown signal, when the client left before the signal was asked for', async () => {
    const signals = new Promise<AbortSignal>((resolve) => {
      lateSignal = resolve;
    });
    const client = new RawClient(port);
    await client.write('POST /late HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n');
    client.destroy();
    await client.closed();
    const signal = await signals;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClientGoneError);
    expect(String(signal.reason)).toMatch(/the client went away/);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('aborts the requests in flight when the gateway shuts down, with its reason', async () => {
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    const answer = send(port, '/held', {});
    await started;
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    shutdown.abort(new Error('the gateway is stopping'));
    const response = await answer;
    expect(JSON.parse(response.body)).toEqual({ aborted: 'Error: the gateway is stopping' });
  });
});
