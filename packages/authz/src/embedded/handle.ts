import type { ChildProcess } from 'node:child_process';
import { inspect } from 'node:util';
import type { Logger } from '@breakwater/core';

// A stop asked over IPC that has not ended the process by then is cut short.
export const KILL_AFTER_MS = 5_000;

/**
 * A running embedded SpiceDB server: point `@authzed/authzed-node` (or SpiceDbChecker) at
 * `endpoint` with `token`. The token is kept out of `util.inspect`, `JSON.stringify` and logs;
 * only the `token` property gives it out.
 */
export interface EmbeddedSpiceDb {
  /** `host:port` the server listens on. */
  readonly endpoint: string;
  /** The preshared key every call must send as `authorization: Bearer <token>`. */
  readonly token: string;
  /** The server process's id. */
  readonly pid: number;
  /**
   * Stops the server: open streams end UNAVAILABLE, the engine is closed, and the promise
   * resolves once the process has exited (killed if it has not within 5 s). Safe to call again.
   */
  close(): Promise<void>;
}

/**
 * The handle startEmbeddedSpiceDb gives out: a {@link ServerHandle} seen through a proxy that
 * alone knows the token. util.inspect looks at a proxy's target, whatever its options
 * (`customInspect: false`, `getters`, `showHidden`, `showProxy`), and the target has no token.
 */
export function serverHandle(
  endpoint: string,
  token: string,
  child: ChildProcess & { pid: number },
  exited: Promise<void>,
  logger: Logger | undefined,
): EmbeddedSpiceDb {
  const handle = new ServerHandle(endpoint, child, exited, logger);
  const close = (): Promise<void> => handle.close();
  return new Proxy(handle, {
    get: (target, key) => {
      if (key === 'token') return token;
      // Its private fields answer to the handle itself, never to the proxy.
      if (key === 'close') return close;
      return Reflect.get(target, key, target);
    },
    has: (target, key) => key === 'token' || Reflect.has(target, key),
  }) as ServerHandle & { readonly token: string };
}

/** A running server process, with everything about it but its token. */
export class ServerHandle {
  readonly endpoint: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #logger: Logger | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    endpoint: string,
    child: ChildProcess & { pid: number },
    exited: Promise<void>,
    logger: Logger | undefined,
  ) {
    this.endpoint = endpoint;
    this.pid = child.pid;
    this.#child = child;
    this.#exited = exited;
    this.#logger = logger;
    child.on('error', (error) =>
      logger?.error(
        { pid: this.pid, error: error.message },
        'embedded SpiceDB server process error',
      ),
    );
    child.once('exit', (code, signal) => {
      if (this.#closing === undefined) {
        logger?.error(
          { endpoint, pid: this.pid, code, signal },
          'embedded SpiceDB server exited unexpectedly',
        );
      }
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      const kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      // A send that fails means the channel is gone, and the server stops on that by itself.
      if (child.connected) child.send({ type: 'stop' }, () => {});
      await this.#exited;
      clearTimeout(kill);
    }
    this.#logger?.info({ endpoint: this.endpoint, pid: this.pid }, 'embedded SpiceDB stopped');
  }

  toJSON(): { endpoint: string; pid: number; token: string } {
    return { endpoint: this.endpoint, pid: this.pid, token: '[redacted]' };
  }

  [inspect.custom](): string {
    return `EmbeddedSpiceDb { endpoint: '${this.endpoint}', pid: ${this.pid}, token: [redacted] }`;
  }
}
