import type { Logger } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { type AuthorizationStatsView, type ScanStatsView, Sources } from './sources.js';

const AUTHORIZATION: AuthorizationStatsView = {
  checks: { cache: { allowed: 1, denied: 0 } },
  cache: undefined,
  fallbacks: {},
  backend: { calls: 2, errors: 0, latencyMs: { count: 2, sum: 3, max: 2 } },
  requestErrors: 0,
};
const SCANS: ScanStatsView = {
  engines: { quick: { clean: 1 } },
  decisions: { allow: 1 },
  bytesScanned: 7,
  scans: { completed: 1, failed: 0 },
};

describe('Sources', () => {
  it('reads each source on its own: one that throws is null, reported once per failure streak', () => {
    let broken = true;
    const scans = {
      stats: () => {
        if (broken) throw new Error('scanner offline');
        return SCANS;
      },
    };
    const logged: string[] = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (fields, message) => logged.push(`${message}: ${(fields.err as Error).message}`),
    };
    const sources = new Sources(
      { breaker: { name: 'spicedb' }, stats: () => AUTHORIZATION },
      scans,
      logger,
    );
    const unavailable = { authorization: { ...AUTHORIZATION, breaker: 'spicedb' }, scans: null };
    expect(sources.read()).toEqual(unavailable);
    expect(sources.read()).toEqual(unavailable);
    expect(logged).toEqual(['dashboard: the scan stats failed: scanner offline']);
    broken = false;
    expect(sources.read()).toMatchObject({ scans: SCANS, authorization: { breaker: 'spicedb' } });
    broken = true;
    sources.read();
    expect(logged).toEqual([
      'dashboard: the scan stats failed: scanner offline',
      'dashboard: the scan stats failed: scanner offline',
    ]);
  });

  it('reports a failing authorization source the same way, and reads nothing it was not given', () => {
    const logged: string[] = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (_fields, message) => logged.push(message),
    };
    const failing = {
      breaker: { name: 'spicedb' },
      stats(): never {
        throw new Error('no stats');
      },
    };
    const sources = new Sources(failing, { stats: () => SCANS }, logger);
    expect(sources.read()).toEqual({ authorization: null, scans: SCANS });
    expect(sources.read()).toEqual({ authorization: null, scans: SCANS });
    expect(logged).toEqual(['dashboard: the authorization stats failed']);
    expect(new Sources(undefined, undefined, logger).read()).toEqual({});
  });
});
