/**
 * The command line was right, but what it points at is not: no engine answers, a variable
 * it names is unset or unreadable. Exit 2, without the usage hint, which would not help.
 */
export class SetupError extends Error {
  readonly code = 'SCANBRIDGE_SETUP';
}
