import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  describeValue,
  durationAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';

/** What the proxy does with bytes and connections now. */
export type FaultMode = 'pass' | 'slow' | 'pause' | 'drop' | 'killed';

/**
 * A TCP proxy between a client and a server, for scripted faults: `pass()` forwards bytes both
 * ways, `slow(ms)` forwards each chunk `ms` later (latency, never a hang), `pause()` holds them
 * (connections stay open: a stalled server), `drop()` destroys open connections and every new
 * one as it is accepted, `kill()` stops listening (ECONNREFUSED), and `restart()` listens again
 * on the same port and passes. Once killed (or closed), only `restart()` brings it back:
 * `pass()`, `slow()`, `pause()` and `drop()` throw rather than claim a mode that nothing is
 * listening for.
 */
export interface FaultProxy {
  /** `127.0.0.1:port`, the address to give the client instead of the target. */
  readonly endpoint: string;
  readonly port: number;
  /** Connections accepted so far, in every mode. */
  readonly connections: number;
  readonly mode: FaultMode;
  pass(): void;
  /** Delays every chunk, each way, by `delayMs` from when it arrived; order is kept. */
  slow(delayMs: number): void;
  pause(): void;
  drop(): void;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Where to forward: `host:port`, `[v6]:port`, or a unix socket path (anything with a `/`). */
  readonly target: string;
}

const OWNER = 'startFaultProxy';
const KNOWN: ReadonlySet<string> = new Set(['target']);

type Target = { readonly host: string; readonly port: number } | { readonly path: string };

/** Bytes one way, held back while the proxy is slow or paused, delivered in order. */
class Lane {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #mode: () => FaultMode;
  readonly #delay: () => number;
  readonly #held: { readonly chunk: Buffer; readonly at: number }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(from: Socket, to: Socket, mode: () => FaultMode, delay: () => number) {
    this.#from = from;
    this.#to = to;
    this.#mode = mode;
    this.#delay = delay;
    // By hand rather than with pipe(), whose own resume-on-drain would undo a pause.
    from.on('data', (chunk: Buffer) => this.#push(chunk));
  }

  #push(chunk: Buffer): void {
    if (this.#mode() === 'pass' && this.#held.length === 0) {
      this.#write(chunk);
      return;
    }
    this.#held.push({ chunk, at: performance.now() });
    this.flush();
  }

  /**
   * Delivers what is due by the delay of the mode now (nothing while paused, all of it once
   * passing again) and waits for the rest.
   */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const mode = this.#mode();
    if (mode === 'pause' || this.#to.destroyed) return;
    const delay = mode === 'slow' ? this.#delay() : 0;
    const now = performance.now();
    for (let next = this.#held[0]; next !== undefined; next = this.#held[0]) {
      const wait = next.at + delay - now;
      if (wait > 0) {
        this.#timer = setTimeout(() => this.flush(), wait);
        this.#timer.unref();
        return;
      }
      this.#held.shift();
      this.#write(next.chunk);
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#held.length = 0;
  }

  #write(chunk: Buffer): void {
    if (this.#to.write(chunk)) return;
    this.#from.pause();
    this.#to.once('drain', () => {
      if (this.#mode() !== 'pause') this.#from.resume();
    });
  }
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly lanes: readonly [Lane, Lane];
}

/** Starts a fault proxy on a free loopback port, passing. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KNOWN);
  const target = targetOf(nonEmptyString(OWNER, 'target', options.target));
  const links = new Set<Link>();
  let mode: FaultMode = 'pass';
  let delayMs = 0;
  let connections = 0;
  let server: Server | undefined;
  let port = 0;
  const currentMode = (): FaultMode => mode;
  const currentDelay = (): number => delayMs;

  const destroy = (link: Link): void => {
    links.delete(link);
    for (const lane of link.lanes) lane.stop();
    link.client.destroy();
    link.upstream.destroy();
  };

  const accept = (client: Socket): void => {
    connections++;
    client.setNoDelay(true);
    client.on('error', () => {});
    if (mode === 'drop' || mode === 'killed') {
      client.destroy();
      return;
    }
    const upstream = connect('path' in target ? target : { ...target, noDelay: true });
    upstream.on('error', () => {});
    const link: Link = {
      client,
      upstream,
      lanes: [
        new Lane(client, upstream, currentMode, currentDelay),
        new Lane(upstream, client, currentMode, currentDelay),
      ],
    };
    links.add(link);
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

  /** Reading again, and whatever was held back goes out when due. */
  const flowing = (): void => {
    for (const { client, upstream, lanes } of links) {
      client.resume();
      upstream.resume();
      for (const lane of lanes) lane.flush();
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
      flowing();
    },
    slow(ms: number) {
      delayMs = durationAtLeast('FaultProxy.slow', 'delayMs', ms, 0);
      listening('slow');
      mode = 'slow';
      flowing();
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

function targetOf(spec: string): Target {
  if (spec.includes('/')) return { path: spec };
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || port < 1 || port > 65_535) {
    throw new TypeError(
      `${OWNER}: option "target" must be host:port, [ipv6]:port or a unix socket path (anything with a "/"), got ${describeValue(spec)}`,
    );
  }
  return { host, port };
}
