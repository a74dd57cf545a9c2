import { describeValue } from '@breakwater/core/validate';

/**
 * The checker answered, but not with what a check needs: something other than a boolean, or a
 * bulk answer with the wrong number of results. Treated as the backend failing (counted, and the
 * fallback decides), never read as an allow: `'false'` is truthy.
 */
export class MalformedAnswerError extends Error {
  readonly code = 'BREAKWATER_AUTHZ_BAD_ANSWER';

  constructor(message: string) {
    super(`${message}; the PermissionChecker must resolve true or false for each check`);
  }
}
MalformedAnswerError.prototype.name = 'MalformedAnswerError';

/** `value` if it is a boolean; a {@link MalformedAnswerError} otherwise. */
export function requireBoolean(value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new MalformedAnswerError(`the checker answered a check with ${describeValue(value)}`);
  return value;
}

/**
 * A copy of `values` if it holds exactly `count` booleans; a {@link MalformedAnswerError}
 * otherwise. A copy, so what was checked is what is decided, whatever reads `values` later (an
 * accessor, a Proxy, a buffer the checker refills).
 */
export function requireBooleans(values: unknown, count: number): boolean[] {
  if (!Array.isArray(values)) {
    throw new MalformedAnswerError(
      `the checker answered ${count} checks with ${describeValue(values)}, not an array`,
    );
  }
  if (values.length !== count) {
    throw new MalformedAnswerError(
      `the checker answered ${count} checks with ${values.length} results`,
    );
  }
  const checked = new Array<boolean>(count);
  for (let i = 0; i < count; i++) {
    const value: unknown = values[i];
    if (typeof value !== 'boolean') {
      throw new MalformedAnswerError(
        `the checker answered check ${i} of ${count} with ${describeValue(value)}`,
      );
    }
    checked[i] = value;
  }
  return checked;
}
