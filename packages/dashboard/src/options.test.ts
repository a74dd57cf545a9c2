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
      'createDashboard: unknown option "maxClient"; known options are registry, token, allowedHosts, basePath',
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

  it('refuses a sampleInterval past the longest timer, and a history past an hour of seconds', () => {
    expect(resolve({ sampleInterval: 2_147_483_647, historyLength: 3600 })).toMatchObject({
      sampleInterval: 2_147_483_647,
      historyLength: 3600,
    });
    expect(() => resolve({ sampleInterval: 30 * 24 * 3600 * 1000 })).toThrow(
      `createDashboard: option "sampleInterval" must be at most 2147483647 ms (Node's longest timer), got 2592000000`,
    );
    expect(() => resolve({ historyLength: 3601 })).toThrow(
      'createDashboard: option "historyLength" must be at most 3600 samples (every breaker keeps that many, and every snapshot carries them), got 3601',
    );
  });

  it('takes allowedHosts as host names without a port, in lower case', () => {
    expect([...resolve({}).allowedHosts]).toEqual([]);
    expect([
      ...resolve({ allowedHosts: ['Dash.Example.com', 'ops.', 'my_host'] }).allowedHosts,
    ]).toEqual(['dash.example.com', 'ops', 'my_host']);
    for (const bad of ['dash.example.com:8080', '', 'a b', 'http://x', 7]) {
      expect(() => resolve({ allowedHosts: [bad] }), String(bad)).toThrow(
        `createDashboard: option "allowedHosts" must hold host names without a port, like "dashboard.example.com", got ${typeof bad === 'string' ? JSON.stringify(bad) : bad}`,
      );
    }
    expect(() => resolve({ allowedHosts: 'localhost' })).toThrow(
      'createDashboard: option "allowedHosts" must be an array of host names, got "localhost"',
    );
  });

  it('refuses a token shorter than 16 characters, without repeating it', () => {
    expect(resolve({ token: '0123456789abcdef' }).token?.matches('0123456789abcdef')).toBe(true);
    let message = '';
    try {
      resolve({ token: 'Q1w2E3r4T5y6U7i' });
    } catch (error) {
      expect(error).toBeInstanceOf(RangeError);
      message = (error as Error).message;
    }
    expect(message).toBe(
      'createDashboard: option "token" must be at least 16 characters: use a random one, e.g. `openssl rand -base64 24`',
    );
    expect(message).not.toContain('Q1w2');
  });

  it('checks the sources and the logger by the methods it calls', () => {
    expect(() => resolve({ scans: {} })).toThrow(
      'createDashboard: option "scans" must have a stats() method, got an object',
    );
    expect(() => resolve({ authorization: { stats() {} } })).toThrow(
      'createDashboard: option "authorization" must be an AuthorizationService (with a breaker), got an object',
    );
    expect(() => resolve({ logger: { info() {}, error() {} } })).toThrow(
      'createDashboard: option "logger" must have info(), warn() and error() methods, got an object',
    );
  });

  it('keeps the token only as something that prints and serializes as redacted', () => {
    const { token } = resolve({ token: 'sekret-value-0123' });
    expect(token?.matches('sekret-value-0123')).toBe(true);
    expect(token?.matches('sekret-value-012E')).toBe(false);
    expect(token?.matches('')).toBe(false);
    expect(JSON.stringify({ token })).toBe('{"token":"[redacted]"}');
    expect(String(Object.values(token ?? {}))).not.toContain('sekret');
  });
});
