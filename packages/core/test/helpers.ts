import { CircuitBreaker, type CircuitBreakerOptions, ManualClock } from '@breakwater/core';
import { expect } from 'vitest';

/** The error a refused TCP connection gives: counted by the default failure policy. */
export function connectionRefused(message = 'connect ECONNREFUSED 127.0.0.1:3310'): Error {
  return Object.assign(new Error(message), { code: 'ECONNREFUSED' });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs one call that fails with `error` and checks the caller saw that very error. */
export async function failOnce(
  breaker: CircuitBreaker<unknown>,
  error: unknown = connectionRefused(),
): Promise<void> {
  await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
}

export async function succeedOnce(breaker: CircuitBreaker<unknown>): Promise<void> {
  await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok');
}

/** Options on a fresh ManualClock starting at a readable epoch. */
export function onClock<T>(options: CircuitBreakerOptions<T> = {}): {
  clock: ManualClock;
  options: CircuitBreakerOptions<T>;
} {
  const clock = new ManualClock(1_000_000);
  return { clock, options: { ...options, clock } };
}

/** A breaker on a fresh ManualClock, and the clock. */
export function breakerOnClock(options: CircuitBreakerOptions<unknown> = {}): {
  clock: ManualClock;
  breaker: CircuitBreaker<unknown>;
} {
  const { clock, options: withClock } = onClock(options);
  return { clock, breaker: new CircuitBreaker(withClock) };
}

/** Starts a call whose operation never settles by itself; `signal()` is what it was handed. */
export function hangingCall(
  breaker: CircuitBreaker<unknown>,
  callerSignal?: AbortSignal,
): { call: Promise<unknown>; signal(): AbortSignal | undefined } {
  let seen: AbortSignal | undefined;
  const call = breaker.execute((signal) => {
    seen = signal;
    return new Promise<never>(() => {});
  }, callerSignal);
  return { call, signal: () => seen };
}
