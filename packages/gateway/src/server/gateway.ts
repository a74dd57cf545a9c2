import type { AuthorizationService } from '@breakwater/authz';
import type { BreakerRegistry, Logger } from '@breakwater/core';
import type { ScanManager } from '@breakwater/scanbridge';
import type { GatewayConfig } from '../config/types.js';

/** A running gateway. */
export interface Gateway {
  /** `http://127.0.0.1:8080`, as it listens. */
  readonly url: string;
  /** Every breaker: one per engine (`engine:<name>`) and `spicedb`. */
  readonly registry: BreakerRegistry;
  readonly manager: ScanManager;
  readonly authorization: AuthorizationService;
  /** Stops listening, ends open requests, closes engines, the SpiceDB client and the dashboard. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** pino-shaped; default: JSON lines on stderr at info. */
  logger?: Logger | undefined;
}

// Contract stub: the server engineer replaces this file.
export async function startGateway(
  _config: GatewayConfig,
  _options: GatewayOptions = {},
): Promise<Gateway> {
  throw new Error('startGateway: not built yet');
}
