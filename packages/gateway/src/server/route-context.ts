import type { Logger } from '@breakwater/core';
import type { FilesystemQuarantine, ScanManager } from '@breakwater/scanbridge';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/types.js';
import { ClientGoneError } from '../upload/index.js';
import type { Access } from './access.js';
import type { InFlight } from './in-flight.js';

/** What the routes share: who may do what, the scan manager, the quarantine, the limits. */
export interface RouteContext {
  readonly access: Access;
  readonly manager: ScanManager;
  readonly quarantine: FilesystemQuarantine;
  readonly limits: GatewayConfig['limits'];
  readonly logger: Logger;
  /** Aborts when the gateway shuts down past its grace period. */
  readonly shutdown: AbortSignal;
  /** Scans in progress, which `close()` waits for. */
  readonly inFlight: InFlight;
}

/**
 * Aborts when the client goes away before its answer is written, or the gateway shuts down: a
 * scan nobody waits for stops reading, and its spooled file is removed. One listener on
 * `shutdown` while the request runs, not AbortSignal.any: on Node 20 that leaves an entry per
 * request in the long-lived signal's dependant set, never pruned (nodejs/node#55351). Already
 * aborted (ClientGoneError) when the client has gone by the time it is asked for.
 */
export function requestSignal(
  request: FastifyRequest,
  reply: FastifyReply,
  shutdown: AbortSignal,
): AbortSignal {
  const controller = new AbortController();
  const gone = (): void => {
    if (!reply.raw.writableEnded)
      controller.abort(new ClientGoneError(`request ${request.id}: the client went away`));
  };
  // A client that left while the request was being authorized has closed the response already:
  // its 'close' will not come again, so a listener added now would stay on `shutdown` for good.
  if (reply.raw.destroyed) {
    gone();
    return controller.signal;
  }
  const onShutdown = (): void => controller.abort(shutdown.reason);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });
  reply.raw.once('close', () => {
    shutdown.removeEventListener('abort', onShutdown);
    gone();
  });
  return controller.signal;
}
