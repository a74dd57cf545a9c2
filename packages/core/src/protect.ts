import type { CircuitBreaker } from './breaker.js';
import { describeValue } from './validate.js';

/** The keys of `S` whose values are functions returning a promise. */
export type AsyncMethodKeys<S> = {
  [K in keyof S]-?: S[K] extends (...args: never[]) => PromiseLike<unknown> ? K : never;
}[keyof S] &
  string;

/** `S` as `protect` returns it: the same type, unless the fallback can answer with a `T`. */
export type Protected<S, T> = [T] extends [never]
  ? S
  : {
      [K in keyof S]: S[K] extends (...args: infer A) => PromiseLike<infer R>
        ? (...args: A) => Promise<R | T>
        : S[K];
    };

export interface ProtectOptions<S> {
  /**
   * The methods to send through the breaker. Default: every method declared `async`.
   * Name them here when a method returns a promise without being declared `async`.
   */
  methods?: readonly AsyncMethodKeys<S>[];
}

type AnyFunction = (...args: unknown[]) => unknown;

function isAsyncFunction(fn: AnyFunction): boolean {
  return Object.prototype.toString.call(fn) === '[object AsyncFunction]';
}

function isFrozenOwn(object: object, key: PropertyKey): boolean {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  return (
    descriptor !== undefined && descriptor.configurable === false && descriptor.writable === false
  );
}

/**
 * `target` with its async methods going through `breaker`:
 * `const safeScanner = protect(scanner, breaker)`. Guarded and prototype methods run
 * with `target` as `this`, so private fields work; other properties, including functions
 * stored on the object itself, pass through untouched.
 */
export function protect<S extends object, T = never>(
  target: S,
  breaker: CircuitBreaker<T>,
  options: ProtectOptions<S> = {},
): Protected<S, T> {
  if (typeof target !== 'object' || target === null) {
    throw new TypeError(
      `protect(target, breaker) needs an object to protect (use breaker.wrap for a function), got ${describeValue(target)}`,
    );
  }
  if (typeof (breaker as { execute?: unknown } | null)?.execute !== 'function') {
    throw new TypeError(
      `protect(target, breaker) needs a CircuitBreaker, got ${describeValue(breaker)}`,
    );
  }
  const named = options.methods === undefined ? undefined : new Set<PropertyKey>(options.methods);
  const guarded = (key: PropertyKey, fn: AnyFunction) =>
    named === undefined ? isAsyncFunction(fn) : named.has(key);
  const source = target as Record<PropertyKey, unknown>;
  for (const key of named ?? []) {
    if (typeof source[key] !== 'function')
      throw new TypeError(`protect(): "${String(key)}" is not a method of the target`);
  }
  // A Proxy may not answer for a frozen own property with anything but its value.
  for (const key of Reflect.ownKeys(target)) {
    const value = source[key];
    if (
      typeof value === 'function' &&
      guarded(key, value as AnyFunction) &&
      isFrozenOwn(target, key)
    ) {
      throw new TypeError(
        `protect(): the target's own method "${String(key)}" is frozen, so it cannot be guarded; protect a copy ({ ...target }) or a class instance`,
      );
    }
  }
  // Wrappers are made once per method, not on every property read.
  const wrappers = new Map<PropertyKey, { original: AnyFunction; wrapper: AnyFunction }>();

  const proxy = new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== 'function') return value;
      const original = value as AnyFunction;
      const isGuarded = guarded(key, original);
      if (!isGuarded && Object.hasOwn(object, key)) return original;
      const cached = wrappers.get(key);
      if (cached?.original === original) return cached.wrapper;
      const wrapper: AnyFunction = isGuarded
        ? (...args) => breaker.execute(() => original.apply(object, args))
        : original.bind(object);
      wrappers.set(key, { original, wrapper });
      return wrapper;
    },
  });
  return proxy as Protected<S, T>;
}
