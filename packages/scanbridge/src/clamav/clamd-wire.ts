import { connect, type Socket } from 'node:net';
import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';

/** Where clamd listens: TCP or a unix socket. */
export type ClamdEndpoint =
  | { readonly host: string; readonly port: number }
  | { readonly socketPath: string };

/** INSTREAM's last chunk: a length of zero. */
export const END_OF_STREAM: Uint8Array = new Uint8Array(4);

export function describeEndpoint(endpoint: ClamdEndpoint): string {
  return 'socketPath' in endpoint ? endpoint.socketPath : `${endpoint.host}:${endpoint.port}`;
}

type WriteCallback = (error?: Error | null) => void;
interface WriteImplementation {
  _write(chunk: unknown, encoding: BufferEncoding, callback: WriteCallback): void;
  _writev(chunks: unknown, callback: WriteCallback): void;
}

/** Write errors a connection to clamd kept to itself (see {@link connectTo}). */
const failedWrites = new WeakMap<Socket, NodeJS.ErrnoException>();

/**
 * A connection to clamd on which a failed write does not close the socket. clamd answers a
 * stream over its StreamMaxLength and hangs up while we are still sending; our next write
 * then fails (EPIPE), and Node would close the socket at once, with clamd's reply unread in
 * the kernel's buffer (a third of the time on loopback, so a too-large file read as a
 * connection failure). Here a write error is only noted ({@link writeFailure}) and writing
 * stops; the read side still delivers the reply and then closes the socket (at its end, or
 * on the reset).
 */
export function connectTo(endpoint: ClamdEndpoint): Socket {
  const socket = connect('socketPath' in endpoint ? { path: endpoint.socketPath } : endpoint);
  // Writable's own hooks, wrapped on this one socket: Node has no option for this.
  const writes = socket as unknown as WriteImplementation;
  const write = writes._write;
  const writev = writes._writev;
  const noted =
    (callback: WriteCallback): WriteCallback =>
    (error) => {
      if (error) failedWrites.set(socket, error);
      callback();
    };
  writes._write = (chunk, encoding, callback) =>
    write.call(socket, chunk, encoding, noted(callback));
  writes._writev = (chunks, callback) => writev.call(socket, chunks, noted(callback));
  return socket;
}

/** The write error clamd's hang-up caused, if one did. */
export function writeFailure(socket: Socket): NodeJS.ErrnoException | undefined {
  return failedWrites.get(socket);
}

/** Open for writing, and no write has failed. */
export function canWrite(socket: Socket): boolean {
  return socket.writable && !failedWrites.has(socket);
}

/** A command in clamd's NUL-delimited `z` form. */
export function commandBytes(command: string): Buffer {
  return Buffer.from(`z${command}\0`, 'latin1');
}

/**
 * What a socket error means for a scan, in words. Running out of file descriptors is this
 * process's trouble, not clamd's: `io`, which no breaker counts against the engine.
 */
export function socketFailure(
  error: NodeJS.ErrnoException,
  engine: string,
  endpoint: ClamdEndpoint,
): ScanError {
  const where = describeEndpoint(endpoint);
  const words = describeFsError(error);
  if (error.code === 'EMFILE' || error.code === 'ENFILE') {
    return new ScanError(
      'io',
      `${engine}: cannot open a connection to clamd at ${where}: ${words}; this process is out of file descriptors (scan fewer files at once, or raise ulimit -n)`,
      { engine, cause: error },
    );
  }
  const refused = error.code === 'ECONNREFUSED' || error.code === 'ENOENT';
  return new ScanError(
    'connection_failed',
    refused
      ? `${engine}: cannot connect to clamd at ${where}: ${words}`
      : `${engine}: connection to clamd at ${where} failed: ${words}`,
    { engine, cause: error },
  );
}

/** A connect that does not finish in time. */
export function connectTimedOut(engine: string, endpoint: ClamdEndpoint, ms: number): ScanError {
  return new ScanError(
    'timeout',
    `${engine}: connecting to clamd at ${describeEndpoint(endpoint)} timed out after ${ms} ms`,
    { engine },
  );
}

/**
 * Sends `body` as INSTREAM chunks of at most `chunkSize` bytes, each behind its 4-byte
 * big-endian length, waiting only when the socket's buffer is full. The zero-length
 * terminator is the caller's: a session ends a stream the same way whether it was read to
 * its end or given up. Stops quietly once the socket is gone (clamd's reply, or its absence,
 * tells what happened); rejects when the body does, or when `signal` aborts while clamd is
 * not taking what was sent.
 */
export async function sendChunks(
  socket: Socket,
  body: AsyncIterable<Uint8Array>,
  chunkSize: number,
  signal?: AbortSignal,
): Promise<void> {
  for await (const chunk of body) {
    for (let offset = 0; offset < chunk.byteLength; offset += chunkSize) {
      // Not after clamd hung up (its reply may be unread still): a write would reset the connection.
      if (!canWrite(socket)) return;
      const piece =
        chunk.byteLength <= chunkSize ? chunk : chunk.subarray(offset, offset + chunkSize);
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32BE(piece.byteLength);
      socket.cork();
      socket.write(length);
      const roomLeft = socket.write(piece);
      socket.uncork();
      if (!roomLeft) {
        await drained(socket, signal);
        signal?.throwIfAborted();
      }
    }
  }
}

/** Resolves once the socket can take more, is closed (nothing to wait for), or `signal` aborts. */
function drained(socket: Socket, signal: AbortSignal | undefined): Promise<void> {
  if (!canWrite(socket) || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
