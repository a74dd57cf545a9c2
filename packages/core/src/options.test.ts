import { CircuitBreaker, FallbackBehavior, presets } from '@breakwater/core';
import { describe, expect, it } from 'vitest';

type Options = ConstructorParameters<typeof CircuitBreaker>[0];
const make = (options: unknown) => () => new CircuitBreaker(options as Options);

describe('bad options get a clear error naming the option and the value', () => {
  it.each([
    [{ failureThreshold: -1 }, /"failureThreshold" must be an integer >= 1, got -1/],
    [{ failureThreshold: 2.5 }, /"failureThreshold" must be an integer >= 1, got 2.5/],
    [{ failureThreshold: 0 }, /"failureThreshold" must be an integer >= 1, got 0/],
    [{ successThreshold: 0 }, /"successThreshold" must be an integer >= 1, got 0/],
    [{ halfOpenMaxProbes: 0 }, /"halfOpenMaxProbes" must be an integer >= 1, got 0/],
    [
      { halfOpenMaxWait: 0 },
      /"halfOpenMaxWait" must be a finite number of milliseconds >= 1, got 0/,
    ],
    [{ halfOpenMaxWait: Number.POSITIVE_INFINITY }, /"halfOpenMaxWait".*got Infinity/],
    [{ halfOpenMaxWait: 1e300 }, /"halfOpenMaxWait" must be <= 2147483647 ms.*got 1e\+300/],
    [
      { openDuration: Number.POSITIVE_INFINITY },
      /"openDuration" must be a finite number of milliseconds >= 0, got Infinity/,
    ],
    [{ openDuration: -5 }, /"openDuration" must be a finite number of milliseconds >= 0, got -5/],
    [{ openDuration: Number.NaN }, /"openDuration".*got NaN/],
    [{ jitter: -1 }, /"jitter".*got -1/],
    [{ timeout: 0 }, /"timeout" must be > 0 and <= 2147483647 ms/],
    [{ timeout: 3_000_000_000 }, /"timeout" must be > 0 and <= 2147483647 ms.*got 3000000000/],
    [{ timeout: Number.NaN }, /"timeout".*got NaN/],
    [
      { timeout: 90_000, halfOpenMaxWait: 60_000 },
      /"halfOpenMaxWait" \(60000\) must be at least "timeout" \(90000\)/,
    ],
  ])('RangeError for %o', (options, message) => {
    expect(make(options)).toThrow(RangeError);
    expect(make(options)).toThrow(message);
  });

  it.each([
    [{ failureThreshold: '5' }, /"failureThreshold" must be a number, got "5"/],
    [{ openDuration: '30s' }, /"openDuration" must be a number of milliseconds, got "30s"/],
    [{ halfOpenMaxWait: '1m' }, /"halfOpenMaxWait" must be a number of milliseconds, got "1m"/],
    [{ name: '' }, /"name" must be a non-empty string, got ""/],
    [{ name: 7 }, /"name" must be a non-empty string, got 7/],
    [{ failurePolicy: 'all' }, /"failurePolicy" must be a FailurePolicy or a function/],
    [{ fallback: () => 1 }, /"fallback" must be made by FallbackBehavior/],
    [{ fallback: { kind: 'fail_open' } }, /"fallback" must be made by FallbackBehavior/],
    [{ fallbackOnFailure: 'yes' }, /"fallbackOnFailure" must be a boolean/],
    [{ clock: Date.now }, /"clock" must be an object with now\(\)/],
    [
      { clock: { now: (): number => 0, setTimeout: () => 1 } },
      /setTimeout\/clearTimeout functions, both or neither/,
    ],
    [
      { clock: { now: (): number => 0, setTimeout: 5, clearTimeout: 5 } },
      /"clock" must be an object with now\(\)/,
    ],
    [{ logger: console.log }, /"logger" must be an object with info, warn and error/],
    [
      { failureTreshold: 3 },
      /unknown option "failureTreshold"; known options are name, failureThreshold/,
    ],
    ['fast', /options must be an object, got "fast"/],
  ])('TypeError for %o', (options, message) => {
    expect(make(options)).toThrow(TypeError);
    expect(make(options)).toThrow(message);
  });

  it.each([
    'name',
    'failureThreshold',
    'openDuration',
    'successThreshold',
    'halfOpenMaxProbes',
    'halfOpenMaxWait',
    'jitter',
    'timeout',
    'failurePolicy',
    'fallback',
    'fallbackOnFailure',
    'honorRetryAfter',
    'clock',
    'mode',
    'logger',
    'window',
  ])('TypeError for a null %s: null is a wrong value, not the default', (key) => {
    expect(make({ [key]: null })).toThrow(TypeError);
    expect(make({ [key]: null })).toThrow(new RegExp(`"${key}".*got null`));
  });

  it.each(['size', 'minimumCalls', 'failureRateThreshold'])(
    'an error for a null window.%s',
    (key) => {
      expect(make({ window: { type: 'count', [key]: null } })).toThrow(
        new RegExp(`"${key}".*got null`),
      );
    },
  );

  it('accepts explicit undefined for optional settings (spreading partial configs)', () => {
    const breaker = new CircuitBreaker({ timeout: undefined, logger: undefined, clock: undefined });
    expect(breaker.name).toBe('breaker');
  });

  it('fallback factories reject non-functions', () => {
    expect(() => FallbackBehavior.failOpen(null as never)).toThrow(
      /failOpen\(handler\) needs a function, got null/,
    );
    expect(() => FallbackBehavior.fallback({} as never)).toThrow(
      /fallback\(handler\) needs a function/,
    );
  });
});

describe('presets', () => {
  it('match the documented numbers and fail closed', () => {
    expect(presets.default()).toMatchObject({
      failureThreshold: 5,
      openDuration: 30_000,
      successThreshold: 3,
      halfOpenMaxProbes: 1,
      fallback: { kind: 'fail_closed' },
    });
    expect(presets.strict()).toMatchObject({
      failureThreshold: 3,
      successThreshold: 5,
      openDuration: 60_000,
      fallback: { kind: 'fail_closed' },
    });
    expect(presets.highAvailability()).toMatchObject({
      failureThreshold: 10,
      successThreshold: 2,
      openDuration: 10_000,
      halfOpenMaxProbes: 3,
      fallback: { kind: 'fail_closed' },
    });
  });

  it('spread into a named breaker that behaves as configured', async () => {
    const breaker = new CircuitBreaker({ ...presets.strict(), name: 'clamav' });
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 3; i++)
      await expect(breaker.execute(() => Promise.reject(refused))).rejects.toBe(refused);
    const state = breaker.state();
    expect(state.name).toBe('open');
    expect(state.name === 'open' && state.until - state.openedAt).toBe(60_000);
  });

  it('each call returns a fresh object, so one caller cannot change another preset', () => {
    const a = presets.default();
    a.failureThreshold = 99;
    expect(presets.default().failureThreshold).toBe(5);
  });
});
