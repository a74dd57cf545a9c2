/** Which step of `startGateway` failed. */
export type StartPhase = 'config' | 'engines' | 'schema' | 'authorization' | 'listen';

/** `startGateway` could not start: `phase` says which step, the message what to do about it. */
export class GatewayStartError extends Error {
  readonly code = 'BREAKWATER_GATEWAY_START';
  readonly phase: StartPhase;

  constructor(phase: StartPhase, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.phase = phase;
  }
}
GatewayStartError.prototype.name = 'GatewayStartError';
