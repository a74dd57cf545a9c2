import type { Logger } from '@breakwater/core';
import type { FilesystemQuarantine, ScanManager } from '@breakwater/scanbridge';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/types.js';
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
 * scan nobody waits for stops reading, and its spooled file is removed.
 */
export function requestSignal(
  request: FastifyRequest,
  reply: FastifyReply,
  shutdown: AbortSignal,
): AbortSignal {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded)
      gone.abort(new Error(`request ${request.id}: the client went away`));
  });
  return AbortSignal.any([gone.signal, shutdown]);
}
