/** A mistake in how breakwater-gateway was called: one line saying what, and exit 2. */
export class UsageError extends Error {
  readonly code = 'BREAKWATER_GATEWAY_USAGE';
}
UsageError.prototype.name = 'UsageError';
