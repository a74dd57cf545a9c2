import { CircuitBreaker, CircuitOpenError, presets, protect } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { connectionRefused } from '../test/helpers.js';

class FlakyScanner {
  readonly name = 'clamav';
  #calls = 0;
  down = false;

  async scan(file: string): Promise<string> {
    this.#calls++;
    if (this.down) throw connectionRefused();
    return `${file}: clean`;
  }

  // Returns a promise without being declared async.
  healthCheck(): Promise<void> {
    return this.down ? Promise.reject(connectionRefused()) : Promise.resolve();
  }

  get calls(): number {
    return this.#calls;
  }

  describe(): string {
    return `${this.name} after ${this.#calls} calls`;
  }
}

describe('protect', () => {
  it('sends async methods through the breaker: the guide example', async () => {
    const scanner = new FlakyScanner();
    const breaker = new CircuitBreaker(presets.strict());
    const safeScanner = protect(scanner, breaker);
    await expect(safeScanner.scan('a.txt')).resolves.toBe('a.txt: clean');
    scanner.down = true;
    for (let i = 0; i < 3; i++)
      await expect(safeScanner.scan('b.txt')).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state().name).toBe('open');
    await expect(safeScanner.scan('c.txt')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(scanner.calls).toBe(4);
  });

  it('leaves sync methods, getters and fields as they are, with private fields working', async () => {
    const scanner = new FlakyScanner();
    const safe = protect(scanner, new CircuitBreaker());
    await safe.scan('x');
    expect(safe.describe()).toBe('clamav after 1 calls');
    expect(safe.calls).toBe(1);
    expect(safe.name).toBe('clamav');
    safe.down = true;
    expect(scanner.down).toBe(true);
    expect(safe.scan).toBe(safe.scan);
  });

  it('a promise-returning method not declared async is guarded once named in `methods`', async () => {
    const scanner = new FlakyScanner();
    scanner.down = true;
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const unnamed = protect(scanner, breaker);
    await expect(unnamed.healthCheck()).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state().name).toBe('closed');
    const named = protect(scanner, breaker, { methods: ['healthCheck'] });
    await expect(named.healthCheck()).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state().name).toBe('open');
  });

  it('guards own async methods of object literals, and returns function-valued fields as they are', async () => {
    const handler = Object.assign(() => 'handled', { tag: 'mine' });
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const safe = protect(
      {
        handler,
        async fetch(): Promise<string> {
          throw connectionRefused();
        },
      },
      breaker,
    );
    expect(safe.handler).toBe(handler);
    expect(safe.handler.tag).toBe('mine');
    await expect(safe.fetch()).rejects.toThrow('ECONNREFUSED');
    await expect(safe.fetch()).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('refuses a frozen object whose own async method it would have to replace, saying what to do', () => {
    const frozen = Object.freeze({ async scan() {} });
    expect(() => protect(frozen, new CircuitBreaker())).toThrow(
      /own method "scan" is frozen.*protect a copy/,
    );
    const frozenInstance = Object.freeze(new FlakyScanner());
    expect(protect(frozenInstance, new CircuitBreaker()).describe()).toBe('clamav after 0 calls');
  });

  it('rejects bad arguments clearly', () => {
    const breaker = new CircuitBreaker();
    expect(() => protect(null as never, breaker)).toThrow(
      /needs an object to protect \(use breaker.wrap for a function\), got null/,
    );
    expect(() => protect({}, {} as never)).toThrow(/needs a CircuitBreaker/);
    expect(() => protect(new FlakyScanner(), breaker, { methods: ['name' as never] })).toThrow(
      /"name" is not a method/,
    );
  });
});
