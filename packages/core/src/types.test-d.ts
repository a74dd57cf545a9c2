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

  it("tryExecute's failure result tells, typed, whether it counted; a refusal carries no error", async () => {
    const result = await new CircuitBreaker().tryExecute(async () => 1);
    if (result.ok) expectTypeOf(result.value).toEqualTypeOf<number>();
    else if (result.rejected) {
      expectTypeOf(result.retryAfter).toEqualTypeOf<number>();
      expectTypeOf(result).not.toHaveProperty('counted');
    } else expectTypeOf(result.counted).toEqualTypeOf<boolean>();
  });

  it("a fallback's value type shows in every result it can produce", () => {
    const failClosed = new CircuitBreaker(presets.strict());
    expectTypeOf(failClosed.execute(async () => 'a')).toEqualTypeOf<Promise<string>>();

    const inferred = new CircuitBreaker({ fallback: FallbackBehavior.failOpen(() => 42) });
    expectTypeOf(inferred.execute(async () => 'a')).toEqualTypeOf<Promise<string | number>>();

    const typed = new CircuitBreaker<ScanResult>({
      ...presets.strict(),
      fallback: FallbackBehavior.failOpen(() => ({ clean: true })),
    });
    expectTypeOf(typed.execute(() => scanner.scan('f'))).toEqualTypeOf<Promise<ScanResult>>();
    expectTypeOf(protect({ count: async () => 1 }, inferred).count).returns.toEqualTypeOf<
      Promise<number>
    >();
    expectTypeOf(protect({ name: async () => 'n' }, inferred).name).returns.toEqualTypeOf<
      Promise<string | number>
    >();

    // @ts-expect-error the fail-open value must be a ScanResult
    new CircuitBreaker<ScanResult>({ fallback: FallbackBehavior.failOpen(() => 42) });
    // @ts-expect-error typo protection at compile time too
    new CircuitBreaker({ failureTreshold: 3 });
  });

  it('wrap keeps `this`; protect names only promise-returning methods', () => {
    const breaker = new CircuitBreaker();
    const wrapped = breaker.wrap(async function (this: { base: number }, n: number) {
      return this.base + n;
    });
    expectTypeOf(wrapped).thisParameter.toEqualTypeOf<{ base: number }>();
    const target = { sync: () => 1, async: () => Promise.resolve(2) };
    protect(target, breaker, { methods: ['async'] });
    // @ts-expect-error a sync method would start returning a promise
    protect(target, breaker, { methods: ['sync'] });
  });

  it('state() is a union narrowed by name', () => {
    const state = new CircuitBreaker().state();
    if (state.name === 'open') expectTypeOf(state.until).toEqualTypeOf<number>();
    if (state.name === 'half_open') expectTypeOf(state.probeCount).toEqualTypeOf<number>();
  });
});
