import { inspect } from 'node:util';
import type { Secret } from './types.js';

// What a header can carry unchanged: parsers trim spaces and refuse control characters.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * A value read from the environment, kept in a private field: printing, serializing,
 * inspecting or interpolating it shows only where it came from (`[secret from SPICEDB_TOKEN]`).
 */
class EnvSecret implements Secret {
  readonly source: string;
  readonly #value: string;

  constructor(source: string, value: string) {
    this.source = source;
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return `[secret from ${this.source}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function secretFrom(source: string, value: string): Secret {
  return new EnvSecret(source, value);
}

export type SecretRead =
  | { readonly kind: 'unset' }
  | { readonly kind: 'secret'; readonly secret: Secret }
  /** Why the variable's value cannot be used; never repeats the value. */
  | { readonly kind: 'invalid'; readonly problem: string };

/** The variable `name`, read as a secret that must travel in a header (visible ASCII). */
export function readSecret(env: NodeJS.ProcessEnv, name: string, minLength = 1): SecretRead {
  const value = env[name];
  if (value === undefined) return { kind: 'unset' };
  if (value.length === 0) {
    return { kind: 'invalid', problem: `environment variable ${name} is set but empty` };
  }
  if (!HEADER_SAFE.test(value)) {
    return {
      kind: 'invalid',
      problem: `environment variable ${name} holds a space, control or non-ASCII character, which a header cannot carry (its value is not shown)`,
    };
  }
  if (value.length < minLength) {
    return {
      kind: 'invalid',
      problem: `environment variable ${name} holds ${value.length} characters; at least ${minLength} are needed (use a random one, e.g. \`openssl rand -base64 24\`)`,
    };
  }
  return { kind: 'secret', secret: secretFrom(name, value) };
}
