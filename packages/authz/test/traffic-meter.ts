import { connect, createServer, type Socket } from 'node:net';

/**
 * A pass-through TCP relay that counts what crosses it, for tests that must prove a check never
 * touched the network: the fault proxy counts connections, but a call on an open connection
 * opens none, so only the bytes can show it.
 */
export interface TrafficMeter {
  /** `127.0.0.1:port`, the address to give the client. */
  readonly endpoint: string;
  readonly connections: number;
  /** Bytes from the client towards the target, and back. */
  readonly bytesOut: number;
  readonly bytesIn: number;
  close(): Promise<void>;
}

export async function startTrafficMeter(options: { target: string }): Promise<TrafficMeter> {
  const at = options.target.lastIndexOf(':');
  const host = options.target.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(options.target.slice(at + 1));
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytesOut = 0;
  let bytesIn = 0;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };

  const server = createServer({ noDelay: true }, (client) => {
    connections++;
    const upstream = connect({ host, port, noDelay: true });
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
    });
    upstream.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const own = (server.address() as { port: number }).port;

  return {
    endpoint: `127.0.0.1:${own}`,
    get connections() {
      return connections;
    },
    get bytesOut() {
      return bytesOut;
    },
    get bytesIn() {
      return bytesIn;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
