import type { CircuitBreaker } from './breaker.js';
import { describeValue } from './validate.js';

export interface ProtectOptions<S> {
  /**
   * The methods to send through the breaker. Default: every method declared `async`.
   * Name them here when a method returns a promise without being declared `async`.
   */
  methods?: readonly (keyof S & string)[];
}

type AnyFunction = (...args: unknown[]) => unknown;

function isAsyncFunction(fn: AnyFunction): boolean {
  return Object.prototype.toString.call(fn) === '[object AsyncFunction]';
}

/**
 * `target` with the same type, its async methods going through `breaker`:
 * `const safeScanner = protect(scanner, breaker)`. Other methods and properties pass
 * through untouched; every method runs with `target` as `this`, so private fields work.
 */
export function protect<S extends object>(
  target: S,
  breaker: CircuitBreaker<unknown>,
  options: ProtectOptions<S> = {},
): S {
  if (typeof target !== 'object' || target === null) {
    throw new TypeError(
      `protect(target, breaker) needs an object to protect, got ${describeValue(target)}`,
    );
  }
  if (typeof breaker?.execute !== 'function') {
    throw new TypeError(
      `protect(target, breaker) needs a CircuitBreaker, got ${describeValue(breaker)}`,
    );
  }
  const named = options.methods === undefined ? undefined : new Set<PropertyKey>(options.methods);
  for (const method of named ?? []) {
    if (typeof (target as Record<PropertyKey, unknown>)[method] !== 'function') {
      throw new TypeError(`protect(): "${String(method)}" is not a method of the target`);
    }
  }
  // Wrappers are made once per method, not on every property read.
  const wrappers = new Map<PropertyKey, { original: AnyFunction; wrapper: AnyFunction }>();

  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== 'function') return value;
      const original = value as AnyFunction;
      const cached = wrappers.get(key);
      if (cached?.original === original) return cached.wrapper;
      const guarded = named === undefined ? isAsyncFunction(original) : named.has(key);
      const wrapper: AnyFunction = guarded
        ? (...args) => breaker.execute(() => original.apply(object, args))
        : original.bind(object);
      wrappers.set(key, { original, wrapper });
      return wrapper;
    },
  });
}
