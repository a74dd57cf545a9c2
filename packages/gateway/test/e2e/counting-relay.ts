import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP relay on a free loopback port that counts what reaches the server behind it: the
 * connections and the bytes clients sent. In front of clamd it tells, from outside the
 * gateway, whether a request got to the engine at all; the scanner's kept sessions carry many
 * scans on one connection, so the bytes say it where a connection count could not.
 */
export interface CountingRelay {
  /** `127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly connections: number;
  /** Bytes clients sent towards the server. */
  readonly bytesIn: number;
  close(): Promise<void>;
}

export async function startCountingRelay(target: {
  readonly host: string;
  readonly port: number;
}): Promise<CountingRelay> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytesIn = 0;
  const server = createServer((client) => {
    connections++;
    const upstream = connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      bytesIn += chunk.byteLength;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    endpoint: `127.0.0.1:${port}`,
    get connections() {
      return connections;
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
