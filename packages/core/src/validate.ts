/**
 * Checks for option objects, shared by every Breakwater package (`@breakwater/core/validate`):
 * each bad value names its owner, its option and itself, in the same words everywhere.
 */

/** How a value reads in an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * The option's value, or `fallback` when it is left out: an explicit `undefined` (a spread partial
 * config) means the default, but `null` is a value, checked and refused like any other wrong one.
 */
export function orDefault<V>(value: V | undefined, fallback: V): V {
  return value === undefined ? fallback : value;
}

/** Typo protection: `{ failureTreshold: 3 }` is an error, not a silently ignored key. */
export function rejectUnknownKeys(
  owner: string,
  options: object,
  known: ReadonlySet<string>,
): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(
        `${owner}: unknown option "${key}"; known options are ${[...known].join(', ')}`,
      );
    }
  }
}

export function requireObject(owner: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${owner}: options must be an object, got ${describeValue(value)}`);
  }
}

/** An integer in [min, +inf). */
export function integerAtLeast(owner: string, key: string, value: unknown, min: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${owner}: option "${key}" must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `${owner}: option "${key}" must be an integer >= ${min}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A finite number of milliseconds in [min, +inf). */
export function durationAtLeast(owner: string, key: string, value: unknown, min: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `${owner}: option "${key}" must be a number of milliseconds, got ${describeValue(value)}`,
    );
  }
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(
      `${owner}: option "${key}" must be a finite number of milliseconds >= ${min}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A string with at least one character. */
export function nonEmptyString(owner: string, key: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(
      `${owner}: option "${key}" must be a non-empty string, got ${describeValue(value)}`,
    );
  }
  return value;
}
