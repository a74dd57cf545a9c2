import type { Logger } from '@breakwater/core';
import { describeValue, orDefault } from '@breakwater/core/validate';
import { register as globalRegister, type Registry, type RegistryContentType } from 'prom-client';

/** A register of either exposition format. */
export type AnyRegistry = Registry<RegistryContentType>;

/** Prometheus's bucket bounds for call durations in seconds: 5 ms to 10 s (prom-client's too). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

// A metric name is [a-zA-Z_:][a-zA-Z0-9_:]*; a prefix is its start, so it may also be empty.
const PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/** prom-client's Registry, by shape: a second copy of prom-client makes registries just as good. */
export function registerOption(owner: string, value: unknown): AnyRegistry {
  const register = orDefault(value, globalRegister) as Partial<AnyRegistry> | null;
  if (
    typeof register !== 'object' ||
    register === null ||
    typeof register.registerMetric !== 'function' ||
    typeof register.getSingleMetric !== 'function' ||
    typeof register.removeSingleMetric !== 'function'
  ) {
    throw new TypeError(
      `${owner}: option "register" must be a prom-client Registry, got ${describeValue(value)}`,
    );
  }
  return register as AnyRegistry;
}

export function prefixOption(owner: string, value: unknown, fallback: string): string {
  const prefix = orDefault(value, fallback);
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError(
      `${owner}: option "prefix" must be the start of a metric name (letters, digits, _ and :, not starting with a digit), got ${describeValue(prefix)}`,
    );
  }
  return prefix;
}

/** Histogram bucket bounds in seconds: finite, increasing, at least one. */
export function bucketsOption(owner: string, value: unknown): readonly number[] {
  const buckets = orDefault(value, DEFAULT_BUCKETS);
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new TypeError(
      `${owner}: option "buckets" must be a non-empty array of upper bounds in seconds, got ${describeValue(buckets)}`,
    );
  }
  buckets.forEach((bound: unknown, i) => {
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new TypeError(
        `${owner}: option "buckets" must hold finite numbers (seconds), got ${describeValue(bound)} at ${i}`,
      );
    }
    if (i > 0 && bound <= (buckets[i - 1] as number)) {
      throw new RangeError(
        `${owner}: option "buckets" must increase, got ${bound} after ${buckets[i - 1]}`,
      );
    }
  });
  return Object.freeze([...buckets]);
}

export function booleanOption(owner: string, key: string, value: unknown, fallback: boolean) {
  const flag = orDefault(value, fallback);
  if (typeof flag !== 'boolean') {
    throw new TypeError(
      `${owner}: option "${key}" must be true or false, got ${describeValue(flag)}`,
    );
  }
  return flag;
}

/** Only `warn` is used; the rest of core's Logger shape may be absent. */
export type WarnLogger = Pick<Logger, 'warn'>;

export function loggerOption(owner: string, value: unknown): WarnLogger | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as WarnLogger).warn !== 'function'
  ) {
    throw new TypeError(
      `${owner}: option "logger" must have a warn(fields, message) method (pino-compatible), got ${describeValue(value)}`,
    );
  }
  return value as WarnLogger;
}

/** The object a collector reads must have these methods: fail at once, not at the first scrape. */
export function requireMethods(
  owner: string,
  what: string,
  value: unknown,
  methods: readonly string[],
) {
  for (const method of methods) {
    if (typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new TypeError(
        `${owner}: the ${what} must have a ${method}() method, got ${describeValue(value)}`,
      );
    }
  }
}
