import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does with bytes and connections now. */
export type FaultMode = 'pass' | 'pause' | 'drop' | 'killed';

/**
 * A TCP proxy between a client and a server that the tests control: `pass()` forwards bytes both
 * ways, `pause()` holds them (connections stay open: a stalled server), `drop()` destroys open
 * connections and every new one as it is accepted, `kill()` stops listening (ECONNREFUSED), and
 * `restart()` listens again on the same port and passes. Once killed (or closed), only `restart()`
 * brings it back: `pass()`, `pause()` and `drop()` throw rather than claim a mode that nothing
 * is listening for.
 */
export interface FaultProxy {
  /** `127.0.0.1:port`, the address to give the client instead of the target. */
  readonly endpoint: string;
  readonly port: number;
  /** Connections accepted so far, in every mode. */
  readonly connections: number;
  readonly mode: FaultMode;
  pass(): void;
  pause(): void;
  drop(): void;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
}

export async function startFaultProxy(options: { target: string }): Promise<FaultProxy> {
  const at = options.target.lastIndexOf(':');
  const targetHost = options.target.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const targetPort = Number(options.target.slice(at + 1));
  const links = new Set<Link>();
  let mode: FaultMode = 'pass';
  let connections = 0;
  let server: Server | undefined;
  let port = 0;

  const destroy = (link: Link): void => {
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  };

  // Forwards by hand rather than with pipe(), whose own resume-on-drain would undo a pause.
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (mode === 'pass') from.resume();
        });
      }
    });
  };

  const accept = (client: Socket): void => {
    connections++;
    client.setNoDelay(true);
    client.on('error', () => {});
    if (mode === 'drop' || mode === 'killed') {
      client.destroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: targetPort, noDelay: true });
    upstream.on('error', () => {});
    const link: Link = { client, upstream };
    links.add(link);
    forward(client, upstream);
    forward(upstream, client);
    if (mode === 'pause') {
      client.pause();
      upstream.pause();
    }
    client.on('close', () => destroy(link));
    upstream.on('close', () => destroy(link));
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const next = createServer({ noDelay: true }, accept);
      next.once('error', reject);
      next.listen({ host: '127.0.0.1', port }, () => {
        next.off('error', reject);
        server = next;
        port = (next.address() as { port: number }).port;
        resolve();
      });
    });

  const stopListening = (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const link of links) destroy(link);
    return new Promise((resolve) =>
      current === undefined ? resolve() : current.close(() => resolve()),
    );
  };

  const listening = (change: string): void => {
    if (server === undefined) {
      throw new Error(`fault proxy: cannot ${change} while killed; restart() it first`);
    }
  };

  await listen();
  return {
    get endpoint() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get connections() {
      return connections;
    },
    get mode() {
      return mode;
    },
    pass() {
      listening('pass');
      mode = 'pass';
      for (const { client, upstream } of links) {
        client.resume();
        upstream.resume();
      }
    },
    pause() {
      listening('pause');
      mode = 'pause';
      for (const { client, upstream } of links) {
        client.pause();
        upstream.pause();
      }
    },
    drop() {
      listening('drop');
      mode = 'drop';
      for (const link of links) destroy(link);
    },
    async kill() {
      mode = 'killed';
      await stopListening();
    },
    async restart() {
      await stopListening();
      mode = 'pass';
      await listen();
    },
    async close() {
      mode = 'killed';
      await stopListening();
    },
  };
}
