import { connect, type Socket } from 'node:net';
import { ScanError } from '../errors.js';

/** Where clamd listens: TCP or a unix socket. */
export type ClamdEndpoint =
  | { readonly host: string; readonly port: number }
  | { readonly socketPath: string };

export interface ClamdRequest {
  readonly endpoint: ClamdEndpoint;
  /** Without the `z` prefix or the NUL: `PING`, `VERSION`, `INSTREAM`. */
  readonly command: string;
  /** For INSTREAM: the bytes, sent as length-prefixed chunks of at most `chunkSize`. */
  readonly body?: AsyncIterable<Uint8Array> | undefined;
  readonly chunkSize: number;
  readonly connectTimeoutMs: number;
  /** For the whole exchange, connection included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Names the engine in errors. */
  readonly engine: string;
}

const NUL = 0;
const END_OF_STREAM = new Uint8Array(4);

function describeEndpoint(endpoint: ClamdEndpoint): string {
  return 'socketPath' in endpoint ? endpoint.socketPath : `${endpoint.host}:${endpoint.port}`;
}

/**
 * One clamd command on its own connection, in the NUL-delimited `z` form: returns clamd's
 * reply without its NUL terminator. Connect timeout, overall timeout and abort are all real:
 * each destroys the socket and rejects with a ScanError (or the abort reason).
 */
export function clamdCommand(request: ClamdRequest): Promise<string> {
  const { endpoint, engine, signal } = request;
  const where = describeEndpoint(endpoint);
  return new Promise<string>((resolve, reject) => {
    signal?.throwIfAborted();
    const socket: Socket = connect(
      'socketPath' in endpoint ? { path: endpoint.socketPath } : endpoint,
    );
    const received: Buffer[] = [];
    let settled = false;

    const finish = (error: unknown, reply?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(overallTimer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (reply !== undefined) resolve(reply);
      else reject(error);
    };
    // clamd may answer (e.g. "size limit exceeded") and close while we are still sending:
    // a complete reply wins over the write error that follows.
    const replyReceived = (): string | undefined => {
      const all = Buffer.concat(received);
      const end = all.indexOf(NUL);
      return end === -1 ? undefined : all.subarray(0, end).toString('utf8').trim();
    };
    const onAbort = (): void => finish(signal?.reason);
    const connectTimer = setTimeout(
      () =>
        finish(
          new ScanError(
            'timeout',
            `${engine}: connecting to clamd at ${where} timed out after ${request.connectTimeoutMs} ms`,
            { engine },
          ),
        ),
      request.connectTimeoutMs,
    );
    const overallTimer = setTimeout(
      () =>
        finish(
          new ScanError(
            'timeout',
            `${engine}: clamd at ${where} did not answer ${request.command} within ${request.timeoutMs} ms`,
            { engine },
          ),
        ),
      request.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('connect', () => {
      clearTimeout(connectTimer);
      send(socket, request).catch((error: unknown) => {
        // The input failed (too large, unreadable, aborted): that is the answer. A write that
        // fails because clamd hung up is judged by clamd's reply, or its absence, on close.
        if (error instanceof ScanError || error === signal?.reason) finish(error);
      });
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      const reply = replyReceived();
      if (reply !== undefined) finish(undefined, reply);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const reply = replyReceived();
      if (reply !== undefined) return finish(undefined, reply);
      const refused = error.code === 'ECONNREFUSED' || error.code === 'ENOENT';
      finish(
        new ScanError(
          'connection_failed',
          refused
            ? `${engine}: cannot connect to clamd at ${where} (${error.code})`
            : `${engine}: connection to clamd at ${where} failed: ${error.message}`,
          { engine, cause: error },
        ),
      );
    });
    socket.on('close', () => {
      const reply = replyReceived();
      if (reply !== undefined) return finish(undefined, reply);
      finish(
        new ScanError(
          'connection_failed',
          `${engine}: clamd at ${where} closed the connection before answering ${request.command}`,
          { engine },
        ),
      );
    });
  });
}

async function send(socket: Socket, request: ClamdRequest): Promise<void> {
  await write(socket, Buffer.from(`z${request.command}\0`, 'latin1'));
  if (request.body === undefined) return;
  const length = Buffer.alloc(4);
  for await (const chunk of request.body) {
    for (let offset = 0; offset < chunk.byteLength; offset += request.chunkSize) {
      const piece = chunk.subarray(offset, offset + request.chunkSize);
      length.writeUInt32BE(piece.byteLength);
      await write(socket, Buffer.from(length));
      await write(socket, piece);
      if (socket.destroyed) return;
    }
  }
  await write(socket, END_OF_STREAM);
}

/** Writes, waiting for the socket to drain when its buffer is full. */
function write(socket: Socket, data: Uint8Array): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const flushed = socket.write(data, (error) => (error ? reject(error) : undefined));
    if (flushed) resolve();
    else socket.once('drain', resolve);
  });
}
