import { CircuitBreaker, FallbackBehavior, presets, protect } from '@breakwater/core';
import { describe, expectTypeOf, it } from 'vitest';

interface ScanResult {
  clean: boolean;
}
interface Scanner {
  name: string;
  scan(path: string, opts?: { signal?: AbortSignal }): Promise<ScanResult>;
  healthCheck(): Promise<void>;
}
declare const scanner: Scanner;

describe('types', () => {
  it('protect returns the same type', () => {
    expectTypeOf(protect(scanner, new CircuitBreaker(presets.strict()))).toEqualTypeOf<Scanner>();
  });

  it('wrap keeps parameters and result', () => {
    const breaker = new CircuitBreaker();
    const lookup = async (id: number, tenant: string): Promise<{ id: number; tenant: string }> => ({
      id,
      tenant,
    });
    const wrapped = breaker.wrap(lookup);
    expectTypeOf(wrapped).parameters.toEqualTypeOf<[number, string]>();
    expectTypeOf(wrapped).returns.toEqualTypeOf<Promise<{ id: number; tenant: string }>>();
  });

  it('execute infers the operation result and hands it an AbortSignal', () => {
    const breaker = new CircuitBreaker();
    expectTypeOf(breaker.execute(async () => 1)).toEqualTypeOf<Promise<number>>();
    breaker.execute((signal) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      return 'x';
    });
  });

  it('a typed breaker only runs operations of its type, and fallbacks must produce it', () => {
    const breaker = new CircuitBreaker<ScanResult>({
      ...presets.strict(),
      fallback: FallbackBehavior.failOpen(() => ({ clean: true })),
    });
    expectTypeOf(breaker.execute(() => scanner.scan('f'))).toEqualTypeOf<Promise<ScanResult>>();
    // @ts-expect-error a string is not a ScanResult
    breaker.execute(async () => 'nope');
    // @ts-expect-error the fail-open value must be a ScanResult
    new CircuitBreaker<ScanResult>({ fallback: FallbackBehavior.failOpen(() => 42) });
    // @ts-expect-error typo protection at compile time too
    new CircuitBreaker({ failureTreshold: 3 });
  });

  it('state() is a union narrowed by name', () => {
    const state = new CircuitBreaker().state();
    if (state.name === 'open') expectTypeOf(state.until).toEqualTypeOf<number>();
    if (state.name === 'half_open') expectTypeOf(state.probeCount).toEqualTypeOf<number>();
  });
});
