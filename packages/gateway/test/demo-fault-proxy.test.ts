import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../src/demo/fault-proxy.js';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** An echo server: every chunk comes back as it is, at once. */
async function echo(listenOn: { port: 0 } | { path: string }): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) =>
    'path' in listenOn
      ? server.listen(listenOn.path, resolve)
      : server.listen(0, '127.0.0.1', resolve),
  );
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return 'path' in listenOn
    ? listenOn.path
    : `127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function proxyTo(target: string): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target });
  cleanup.push(() => proxy.close());
  return proxy;
}

/** A client on the proxy that collects what comes back, with when each byte arrived. */
async function client(proxy: FaultProxy): Promise<{
  socket: Socket;
  received: () => string;
  until: (text: string) => Promise<number>;
}> {
  const socket = connect(proxy.port, '127.0.0.1');
  socket.setNoDelay(true);
  cleanup.push(async () => {
    socket.destroy();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  let text = '';
  const waiting: { text: string; resolve: (at: number) => void }[] = [];
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const wait of waiting.splice(0)) {
      if (text.includes(wait.text)) wait.resolve(performance.now());
      else waiting.push(wait);
    }
  });
  return {
    socket,
    received: () => text,
    until: (wanted) =>
      new Promise((resolve) =>
        text.includes(wanted)
          ? resolve(performance.now())
          : waiting.push({ text: wanted, resolve }),
      ),
  };
}

describe('the fault proxy, slow', () => {
  it('delays every chunk by about the delay each way, answers all of them, and keeps their order', async () => {
    const proxy = await proxyTo(await echo({ port: 0 }));
    const c = await client(proxy);
    c.socket.write('warm-up;');
    await c.until('warm-up;');
    proxy.slow(120);
    expect(proxy.mode).toBe('slow');
    const sent = performance.now();
    c.socket.write('one;');
    await new Promise((resolve) => setTimeout(resolve, 20));
    c.socket.write('two;');
    const arrived = await c.until('one;two;');
    // The delay applies on the way there and on the way back: about 240 ms for the round trip.
    expect(arrived - sent).toBeGreaterThanOrEqual(230);
    // Latency, not a hang: the bytes do arrive.
    expect(arrived - sent).toBeLessThan(5_000);
    expect(c.received()).toBe('warm-up;one;two;');
  });

  it('back to pass(), what was held goes out at once, before anything newer', async () => {
    const proxy = await proxyTo(await echo({ port: 0 }));
    const c = await client(proxy);
    proxy.slow(60_000);
    c.socket.write('held;');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(c.received()).toBe('');
    proxy.pass();
    c.socket.write('after;');
    await c.until('held;after;');
    expect(c.received()).toBe('held;after;');
  });

  it('paused while slow, holds the delayed bytes until it flows again', async () => {
    const proxy = await proxyTo(await echo({ port: 0 }));
    const c = await client(proxy);
    proxy.slow(20);
    c.socket.write('x;');
    proxy.pause();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.received()).toBe('');
    proxy.slow(20);
    await c.until('x;');
    expect(c.received()).toBe('x;');
  });

  it('forwards to a unix socket, the way it stands in front of a clamd socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fault-proxy-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const proxy = await proxyTo(await echo({ path: join(dir, 'echo.sock') }));
    const c = await client(proxy);
    c.socket.write('through a socket;');
    await c.until('through a socket;');
    expect(proxy.connections).toBe(1);
  });

  it('cannot be slowed while killed, and refuses a bad delay and a bad target by name', async () => {
    const proxy = await proxyTo(await echo({ port: 0 }));
    expect(() => proxy.slow(-1)).toThrow(
      'FaultProxy.slow: option "delayMs" must be a finite number of milliseconds >= 0, got -1',
    );
    await proxy.kill();
    expect(() => proxy.slow(10)).toThrow(
      'fault proxy: cannot slow while killed; restart() it first',
    );
    await expect(startFaultProxy({ target: 'localhost' })).rejects.toThrow(
      'startFaultProxy: option "target" must be host:port, [ipv6]:port or a unix socket path',
    );
    await expect(startFaultProxy({ target: '127.0.0.1:1', extra: 1 } as never)).rejects.toThrow(
      'startFaultProxy: unknown option "extra"',
    );
  });
});
