import type { Socket } from 'node:net';
import { ScanError } from '../errors.js';
import { ClamdReplySplitter } from './clamd-replies.js';
import {
  type ClamdEndpoint,
  canWrite,
  commandBytes,
  connectTimedOut,
  connectTo,
  describeEndpoint,
  END_OF_STREAM,
  sendChunks,
  socketFailure,
  writeFailure,
} from './clamd-wire.js';

export type { ClamdEndpoint } from './clamd-wire.js';

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
  /** Told when the connection is up, and when the whole body is sent. */
  readonly progress?: ((step: 'connected' | 'sent') => void) | undefined;
  /** Names the engine in errors. */
  readonly engine: string;
  /** Asked on the side (nothing waits on it): its socket and timers keep no process alive. */
  readonly unref?: boolean | undefined;
}

/** A reply past the bound, or one that never ends: not something clamd says. */
export function overlongReply(
  engine: string,
  endpoint: ClamdEndpoint,
  maxBytes: number,
): ScanError {
  return new ScanError(
    'ambiguous_response',
    `${engine}: clamd at ${describeEndpoint(endpoint)} sent more than ${maxBytes} bytes without ending its reply; that is not clamd`,
    { engine },
  );
}

/**
 * One clamd command on its own connection, in the NUL-delimited `z` form: returns clamd's
 * reply without its NUL terminator. Connect timeout, overall timeout and abort are all real:
 * each destroys the socket and rejects (a timeout with a ScanError, an abort with its reason).
 */
export function clamdCommand(request: ClamdRequest): Promise<string> {
  const { endpoint, engine, signal } = request;
  return new Promise<string>((resolve, reject) => {
    signal?.throwIfAborted();
    const socket: Socket = connectTo(endpoint);
    let reply: string | undefined;
    let settled = false;

    const finish = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(overallTimer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (reply !== undefined) resolve(reply.trim());
      else reject(error);
    };
    // clamd may answer (e.g. "size limit exceeded") and close while we are still sending:
    // a complete reply wins over the write error that follows.
    const replies = new ClamdReplySplitter((text) => {
      reply ??= text;
      finish(undefined);
    });
    const onAbort = (): void => finish(signal?.reason);
    const connectTimer = setTimeout(
      () => finish(connectTimedOut(engine, endpoint, request.connectTimeoutMs)),
      request.connectTimeoutMs,
    );
    const overallTimer = setTimeout(
      () =>
        finish(
          new ScanError(
            'timeout',
            `${engine}: clamd at ${describeEndpoint(endpoint)} did not answer ${request.command} within ${request.timeoutMs} ms`,
            { engine },
          ),
        ),
      request.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    if (request.unref === true) {
      socket.unref();
      connectTimer.unref();
      overallTimer.unref();
    }

    socket.on('connect', () => {
      clearTimeout(connectTimer);
      request.progress?.('connected');
      socket.write(commandBytes(request.command));
      if (request.body === undefined) return;
      sendChunks(socket, request.body, request.chunkSize).then(
        () => {
          if (canWrite(socket)) socket.write(END_OF_STREAM);
          request.progress?.('sent');
        },
        // The input failed (too large, unreadable, aborted): that is the answer.
        finish,
      );
    });
    socket.on('data', (packet: Buffer) => {
      if (!replies.push(packet)) finish(overlongReply(engine, endpoint, replies.maxBytes));
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(socketFailure(error, engine, endpoint)),
    );
    const hungUp = (): void => {
      const failedWrite = writeFailure(socket);
      finish(
        failedWrite !== undefined
          ? socketFailure(failedWrite, engine, endpoint)
          : new ScanError(
              'connection_failed',
              `${engine}: clamd at ${describeEndpoint(endpoint)} closed the connection before answering ${request.command}`,
              { engine },
            ),
      );
    };
    socket.on('end', hungUp);
    socket.on('close', hungUp);
  });
}
