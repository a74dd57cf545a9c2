import { BreakerRegistry, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { type DashboardOptions, resolveOptions } from './options.js';

const registry = new BreakerRegistry();
const resolve = (options: Record<string, unknown>) =>
  resolveOptions({ registry, ...options } as DashboardOptions);

describe('createDashboard options', () => {
  it('has the documented defaults', () => {
    expect(resolve({})).toMatchObject({
      registry,
      token: undefined,
      basePath: '/',
      authorization: undefined,
      scans: undefined,
      maxClients: 32,
      sampleInterval: 1000,
      historyLength: 60,
      logger: undefined,
    });
    expect(resolve({}).clock.now()).toBeCloseTo(Date.now(), -3);
  });

  it('takes explicit undefined as the default, and gives basePath its trailing slash', () => {
    expect(resolve({ maxClients: undefined, basePath: '/ops' })).toMatchObject({
      maxClients: 32,
      basePath: '/ops/',
    });
    expect(resolve({ basePath: '/a/b/' }).basePath).toBe('/a/b/');
  });

  it('rejects unknown keys and a non-object, naming them', () => {
    expect(() => resolve({ maxClient: 3 })).toThrow(
      'createDashboard: unknown option "maxClient"; known options are registry, token, basePath',
    );
    expect(() => resolveOptions(null as unknown as DashboardOptions)).toThrow(
      'createDashboard: options must be an object, got null',
    );
  });

  it('needs a registry, and a clock with now()', () => {
    expect(() => resolve({ registry: undefined })).toThrow(
      'createDashboard: option "registry" must be a BreakerRegistry, got undefined',
    );
    expect(() => resolve({ registry: {} })).toThrow(/option "registry" must be a BreakerRegistry/);
    expect(() => resolve({ clock: {} })).toThrow(
      'createDashboard: option "clock" must have a now() method, got an object',
    );
    const clock = new ManualClock(5);
    expect(resolve({ clock }).clock).toBe(clock);
  });

  it('checks the numbers', () => {
    expect(() => resolve({ maxClients: 0 })).toThrow(
      'createDashboard: option "maxClients" must be an integer >= 1, got 0',
    );
    expect(() => resolve({ historyLength: 1.5 })).toThrow(
      /"historyLength" must be an integer >= 1/,
    );
    expect(() => resolve({ sampleInterval: 5 })).toThrow(
      'createDashboard: option "sampleInterval" must be a finite number of milliseconds >= 10, got 5',
    );
    expect(() => resolve({ sampleInterval: '1000' })).toThrow(/must be a number of milliseconds/);
  });

  it('checks the sources and the logger by the methods it calls', () => {
    expect(() => resolve({ scans: {} })).toThrow(
      'createDashboard: option "scans" must have a stats() method, got an object',
    );
    expect(() => resolve({ authorization: { stats() {} } })).toThrow(
      'createDashboard: option "authorization" must be an AuthorizationService (with a breaker), got an object',
    );
    expect(() => resolve({ logger: { error() {} } })).toThrow(
      'createDashboard: option "logger" must have info() and error() methods, got an object',
    );
  });

  it('keeps the token only as something that prints and serializes as redacted', () => {
    const { token } = resolve({ token: 'sekret-value' });
    expect(token?.matches('sekret-value')).toBe(true);
    expect(token?.matches('sekret-valuE')).toBe(false);
    expect(token?.matches('')).toBe(false);
    expect(JSON.stringify({ token })).toBe('{"token":"[redacted]"}');
    expect(String(Object.values(token ?? {}))).not.toContain('sekret');
  });
});
