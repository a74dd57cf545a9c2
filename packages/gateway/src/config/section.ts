import { describeValue } from '@breakwater/core/validate';
import type { ConfigIssue } from './config-error.js';
import { closestName } from './suggest.js';

// setTimeout's limit: a longer delay fires at once.
const MAX_MS = 2 ** 31 - 1;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where a key sits, in JS notation: `limits.maxFileSize`, `engines[1]`, `tokens[0]["a b"]`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every problem found so far. Readers record and go on, so one run finds them all. */
export class Issues {
  readonly list: ConfigIssue[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

/**
 * One object of the configuration, read key by key: a value that is wrong is recorded as an
 * issue and its default stands in, so reading goes on; an unknown key is an issue that
 * suggests the option it most likely meant.
 */
export class Section {
  readonly path: string;
  private readonly issues: Issues;
  private readonly value: Readonly<Record<string, unknown>>;

  /** `value` undefined reads as `{}` (every default); anything but an object is an issue. */
  constructor(issues: Issues, path: string, value: unknown, known: readonly string[]) {
    this.issues = issues;
    this.path = path;
    if (value === undefined || isPlainObject(value)) {
      this.value = value ?? {};
    } else {
      this.value = {};
      this.fail(path, `must be an object, got ${describeValue(value)}`);
    }
    for (const key of Object.keys(this.value)) {
      if (known.includes(key)) continue;
      const guess = closestName(key, known);
      this.fail(
        childPath(path, key),
        guess === undefined
          ? `unknown option; the options here are ${known.join(', ')}`
          : `unknown option (did you mean ${guess}?)`,
      );
    }
  }

  at(key: string): string {
    return childPath(this.path, key);
  }

  raw(key: string): unknown {
    return this.value[key];
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  fail(path: string, message: string): void {
    this.issues.add(path, message);
  }

  section(key: string, known: readonly string[]): Section {
    return new Section(this.issues, this.at(key), this.value[key], known);
  }

  integer(key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      this.fail(this.at(key), `must be an integer ${range}, got ${describeValue(value)}`);
      return fallback;
    }
    return value;
  }

  /** Milliseconds, at least 1 and within what a timer can wait. */
  milliseconds(key: string, fallback: number): number {
    return this.integer(key, fallback, 1, MAX_MS);
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(this.at(key), `must be true or false, got ${describeValue(value)}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) {
      const list = allowed.map((a) => JSON.stringify(a)).join(' or ');
      this.fail(this.at(key), `must be ${list}, got ${describeValue(value)}`);
      return fallback;
    }
    return value as T;
  }

  /** A non-empty string, or `fallback` when left out. */
  string(key: string, fallback: string): string;
  string(key: string, fallback?: undefined): string | undefined;
  string(key: string, fallback?: string): string | undefined {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) {
      this.fail(this.at(key), `must be a non-empty string, got ${describeValue(value)}`);
      return fallback;
    }
    return value;
  }

  /**
   * The name of an environment variable. A value that is not one is not quoted back: it may be
   * the secret itself, pasted where its variable's name belongs.
   */
  envName(key: string, fallback: string): string;
  envName(key: string, fallback?: undefined): string | undefined;
  envName(key: string, fallback?: string): string | undefined {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !ENV_NAME.test(value)) {
      this.fail(
        this.at(key),
        typeof value === 'string'
          ? 'must name an environment variable (letters, digits and _, not starting with a digit); the value is not shown, in case it is the secret itself'
          : `must name an environment variable, got ${describeValue(value)}`,
      );
      return fallback;
    }
    return value;
  }

  /** The array's items with their paths; undefined when left out (or not an array: an issue). */
  array(key: string): { readonly path: string; readonly value: unknown }[] | undefined {
    const value = this.value[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      this.fail(this.at(key), `must be an array, got ${describeValue(value)}`);
      return undefined;
    }
    return value.map((item, i) => ({ path: childPath(this.at(key), i), value: item }));
  }
}
