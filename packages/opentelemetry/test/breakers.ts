import {
  BreakerRegistry,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  ManualClock,
} from '@breakwater/core';
import { expect } from 'vitest';

export const STATE = 'breakwater.circuit.state';
export const CALLS = 'breakwater.calls';
export const TRANSITIONS = 'breakwater.state_transitions';
export const HEALTH = 'breakwater.health.status';
export const DURATION = 'breakwater.call.duration';

/** An error core's default failure policy counts. */
export function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
}

/** One successful call, taking `ms` on `clock`. */
export async function succeed(breaker: CircuitBreaker<unknown>, clock?: ManualClock, ms = 0) {
  await expect(
    breaker.execute(async () => {
      clock?.advance(ms);
      return 'ok';
    }),
  ).resolves.toBe('ok');
}

export async function fail(breaker: CircuitBreaker<unknown>, error: Error = refused()) {
  await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
}

/** The four automatic pairs, exported at 0 from a series' first collection. */
export const AUTOMATIC_AT_0 = {
  'closed>open': 0,
  'open>half_open': 0,
  'half_open>open': 0,
  'half_open>closed': 0,
};

/** A `breakwater.circuit.state` series set: 0 for every state but the ones given. */
export function states(overrides: Partial<Record<string, number>>): Record<string, number> {
  return { closed: 0, open: 0, half_open: 0, forced_open: 0, disabled: 0, ...overrides };
}

/** A registry on a ManualClock whose breakers open at the first failure, for 1 s. */
export function registryOnClock(defaults: CircuitBreakerOptions<never> = {}) {
  const clock = new ManualClock(1_000_000);
  const registry = new BreakerRegistry({
    clock,
    defaults: { failureThreshold: 1, successThreshold: 1, openDuration: 1_000, ...defaults },
  });
  return { clock, registry };
}
