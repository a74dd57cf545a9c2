import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/types.js';

/**
 * How long a connection whose answer came before its body ended keeps reading (and dropping)
 * what the client still sends, after the gateway closed its side: long enough for the client
 * to read the answer, rather than lose it to the reset a close on unread bytes causes.
 */
export const LINGER_MS = 5_000;

/**
 * Room for what happens before the body is read (authorization, with SpiceDB's own time
 * limit) and for how coarsely Node checks its request timeout (every 30 s by default).
 */
const BEFORE_BODY_MS = 10_000;

/**
 * What the scan routes need from Fastify, in the scope that holds them (an encapsulated
 * plugin): it replaces every body parser of that scope. Any body that is not multipart is
 * handed to the route as the raw request stream, untouched and unread (application/json and
 * text/plain too: an upload is never buffered or parsed); multipart/form-data goes to
 * @fastify/multipart, read part by part with the limits scanUploads passes per request, paths
 * in file names kept so that checkFilename sees (and refuses) them. A response sent before the
 * body was read to its end (a 401, a 4xx from scanUploads) closes the connection once sent:
 * Node would otherwise read the rest of an unwanted upload off the wire to reuse it. A client
 * that sends `Expect: 100-continue` is told to send its body only once something reads it (see
 * continueWhenRead), on every route of the server.
 */
export function registerUploadParsers(app: FastifyInstance): void {
  continueWhenRead(app.server as Server);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.register(multipart, { preservePath: true });
  app.addHook('onResponse', closeUnreadBody);
}

const answering = new WeakSet<Server>();

/**
 * Node answers `Expect: 100-continue` with 100 Continue as soon as the headers are in, before a
 * route has decided anything: the client then sends its whole upload to be told 401, 403 or 413.
 * Instead, the request goes to the routes as any other, and 100 Continue is sent when the body
 * is first read (a listener for its bytes); a route that answers without reading sends its
 * final status in its place, and the client sends nothing.
 */
function continueWhenRead(server: Server): void {
  if (answering.has(server)) return;
  answering.add(server);
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    const onListener = (event: string | symbol): void => {
      if (event !== 'data' && event !== 'readable') return;
      request.removeListener('newListener', onListener);
      if (!response.headersSent && !response.writableEnded) response.writeContinue();
    };
    request.on('newListener', onListener);
    server.emit('request', request, response);
  });
}

/**
 * The answer is out and the body is not in: the gateway's side of the connection closes (the
 * client sees the answer, then the end), what still arrives is read and dropped, and after
 * LINGER_MS the connection goes. Not `Connection: close`: Node would destroy the socket as
 * soon as the answer is written, and a client still sending would get a reset instead of it.
 */
async function closeUnreadBody(request: FastifyRequest): Promise<void> {
  const { raw } = request;
  const { socket } = raw;
  if (raw.complete || socket.destroyed) return;
  raw.unpipe();
  raw.resume();
  socket.end();
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/** The server options the gateway is created with, for its upload limits. */
export interface UploadServerTimeouts {
  readonly requestTimeout: number;
  readonly connectionTimeout: number;
}

/**
 * Spread into `fastify({...})`. scanUploads enforces `bodyTimeoutMs` and `idleTimeoutMs`
 * itself, answering 408 with a reason, and counts only time spent waiting for the client.
 * Node's `requestTimeout` is the backstop for a body nobody reads; it runs from the request's
 * first byte to its last, so it also runs while the files before the last are scanned (the
 * rest of the form waits in buffers meanwhile): it allows each of `maxFiles` files a scan of
 * `scanTimeoutMs` on top, so that it never ends an upload the gateway's own limits let through.
 * `connectionTimeout` (a socket silent that long is destroyed) stays off: a client waiting for
 * its file's verdict is silent while the engines scan, and the idle limit already bounds the
 * silence that matters, the client's while it uploads.
 */
export function serverTimeouts(
  limits: GatewayConfig['limits'],
  scanTimeoutMs = 0,
): UploadServerTimeouts {
  const scans = limits.maxFiles * scanTimeoutMs;
  return { requestTimeout: limits.bodyTimeoutMs + scans + BEFORE_BODY_MS, connectionTimeout: 0 };
}
