import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '@breakwater/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub } from './sse-hub.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A hub behind a real server, and a client whose response the test reads (or does not). */
async function setUp(snapshot = '{"hello":1}') {
  const calls: string[] = [];
  const hub = new SseHub({
    maxClients: 4,
    clock: new ManualClock(0),
    onFirstClient: () => calls.push('first'),
    onLastClient: () => calls.push('last'),
  });
  const server = createServer((_req, res) => hub.open(res, [Buffer.from(snapshot)], []));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    hub.close();
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // A cut stream fails the request and its response: the test reads why from here.
  const errors: string[] = [];
  const connect = () =>
    new Promise<IncomingMessage>((resolve) => {
      get(url, { agent: false }, (res) => {
        res.on('error', (error) => errors.push(`response: ${error.message}`));
        resolve(res);
      }).on('error', (error) => errors.push(`request: ${error.message}`));
    });
  return { hub, calls, connect, errors };
}

describe('SseHub', () => {
  it('drops a client that stopped reading once its backlog passes 4 MiB', async () => {
    const { hub, calls, connect, errors } = await setUp();
    const stalled = await connect();
    stalled.pause();
    await expect.poll(() => hub.size).toBe(1);
    // Not once(): it rejects on the 'error' this test expects.
    const closed = new Promise((resolve) => stalled.on('close', resolve));
    const chunk = JSON.stringify('x'.repeat(256 * 1024));
    for (let sent = 0; hub.size > 0 && sent < 256; sent++) {
      hub.broadcast('stats', chunk);
      // Let the socket take what the kernel will, as a live server would between events.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(hub.size).toBe(0);
    // Reading again, the client drains what the kernels held and finds the stream cut short.
    stalled.resume();
    await closed;
    expect(errors).toContain('response: aborted');
    expect(calls).toEqual(['first', 'last']);
  });

  it('counts the backlog past the snapshot, however large the snapshot', async () => {
    const { hub, connect, errors } = await setUp(JSON.stringify('z'.repeat(6 * 1024 * 1024)));
    const slow = await connect();
    slow.pause();
    await expect.poll(() => hub.size).toBe(1);
    hub.broadcast('stats', '{}');
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.size).toBe(1);
    expect(errors).toEqual([]);
    slow.destroy();
  });

  it('keeps a client that reads, however much is sent', async () => {
    const { hub, connect, errors } = await setUp();
    const reader = await connect();
    let received = 0;
    reader.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const chunk = JSON.stringify('y'.repeat(256 * 1024));
    for (let sent = 0; sent < 32; sent++) {
      hub.broadcast('stats', chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => received, { timeout: 5000 }).toBeGreaterThan(32 * 256 * 1024);
    expect(hub.size).toBe(1);
    expect(errors).toEqual([]);
  });
});
