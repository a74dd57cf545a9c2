import { describe, expect, it } from 'vitest';
import { StatsCounters } from './stats.js';

describe('StatsCounters', () => {
  it('counts decisions by source and result, and fallbacks by reason', () => {
    const counters = new StatsCounters();
    counters.decided('cache', true);
    counters.decided('spicedb', true);
    counters.decided('spicedb', false);
    counters.decided('fallback', false);
    counters.decided('fallback', false);
    counters.decided('fallback', true);
    counters.fellBack('circuit_open');
    counters.fellBack('timeout');
    counters.fellBack('backend_error');
    counters.fellBack('backend_error');
    const stats = counters.snapshot('deny_all', undefined);
    expect(stats.checks).toEqual({
      cache: { allowed: 1, denied: 0 },
      spicedb: { allowed: 1, denied: 1 },
      fallback: { allowed: 1, denied: 2 },
    });
    expect(stats.fallbacks).toEqual({
      deny_all: { circuit_open: 1, backend_error: 2, timeout: 1 },
    });
  });

  it('keeps the backend latency as count, sum and max, and failed calls apart', () => {
    const counters = new StatsCounters();
    counters.backendCall(3, false);
    counters.backendCall(12, true);
    counters.backendCall(5, false);
    expect(counters.snapshot('deny_all', undefined).backend).toEqual({
      calls: 3,
      errors: 1,
      latencyMs: { count: 3, sum: 20, max: 12 },
    });
  });

  it('builds a new object each time, with the cache stats given', () => {
    const counters = new StatsCounters();
    const cache = { entries: 1, hits: 2, misses: 2, evictions: 0, hitRate: 0.5 };
    const first = counters.snapshot('custom', cache);
    counters.requestErrors++;
    const second = counters.snapshot('custom', cache);
    expect(first).not.toBe(second);
    expect(first.requestErrors).toBe(0);
    expect(second.requestErrors).toBe(1);
    expect(second.cache).toBe(cache);
  });
});
