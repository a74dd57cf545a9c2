/** A mistake in how scanbridge was called, or a setup that cannot work: exit 2. */
export class UsageError extends Error {
  readonly code = 'SCANBRIDGE_USAGE';
}
