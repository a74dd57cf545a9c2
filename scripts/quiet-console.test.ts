import { describe, expect, it } from 'vitest';
import { watchConsole } from './quiet-console.js';

describe('the console guard every test runs under', () => {
  it('records console.warn and console.error instead of printing them, then puts them back', () => {
    const before = { warn: console.warn, error: console.error };
    const inner = watchConsole();
    console.warn('circuit breaker %s is failing open', '"clamav"');
    console.error(new Error('boom').message);
    expect(inner.stop()).toEqual([
      'console.warn: circuit breaker "clamav" is failing open',
      'console.error: boom',
    ]);
    expect(console.warn).toBe(before.warn);
    expect(console.error).toBe(before.error);
  });
});
