import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { BreakerCounts } from '../src/demo/breaker-counts.js';
import {
  checkSchedule,
  DEFAULT_SCHEDULE,
  FAULTS,
  type Fault,
  phaseAt,
} from '../src/demo/phases.js';
import { collectSummary, formatSummary } from '../src/demo/summary.js';
import { UploadTally } from '../src/demo/tally.js';
import { ReactionTimeline } from '../src/demo/timeline.js';

describe('the summary table', () => {
  it('lines up breakers and users from known numbers, - where nothing was measured', () => {
    const text = formatSummary({
      elapsedMs: 20_049,
      breakers: [
        {
          name: 'spicedb',
          calls: 84,
          rejections: 12,
          openings: 2,
          toOpenMs: [511.4, 498.6],
          toCloseMs: [1502],
        },
        { name: 'yara', calls: 1234, rejections: 0, openings: 0, toOpenMs: [], toCloseMs: [] },
      ],
      authorization: { spicedb: 40, cache: 300, fallbackAllowed: 25, fallbackDenied: 12 },
      users: [
        { name: 'alice', role: 'member', allowed: 20, blocked: 5, denied: 0, failed: 1 },
        { name: 'mallory', role: 'none', allowed: 0, blocked: 0, denied: 26, failed: 0 },
      ],
    });
    expect(text.split('\n').slice(0, 11)).toEqual([
      'Summary after 20.0 s',
      '',
      'breaker  calls  rejections  openings  fault->open ms  recovery->close ms',
      'spicedb     84          12         2        511, 499                1502',
      'yara      1234           0         0               -                   -',
      '',
      'permission checks: 40 answered by SpiceDB, 300 by the cache while it answered; while it could not, the fallback allowed 25 from cached decisions and denied 12',
      '',
      'user     role    allowed  blocked  denied  failed',
      'alice    member       20        5       0       1',
      'mallory  none          0        0      26       0',
    ]);
    expect(text).toContain('denied: 403 from authorization');
  });

  it('counts calls, rejections and openings over the whole run, through a reset from the dashboard, and each user from the tally', async () => {
    const clock = new ManualClock();
    const registry = new BreakerRegistry({ clock });
    const breaker = new CircuitBreaker({ name: 'spicedb', failureThreshold: 1, clock });
    registry.register('spicedb', breaker);
    // A call before the counting starts (the gateway's start) is in the breaker's metrics.
    await breaker.execute(async () => 'ok');
    const counts = new BreakerCounts(registry);
    const yara = new CircuitBreaker({ name: 'yara', clock });
    registry.register('yara', yara);
    await yara.execute(async () => 'clean');
    await expect(
      breaker.execute(async () => {
        throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      }),
    ).rejects.toThrow('refused');
    await expect(breaker.execute(async () => 'never runs')).rejects.toThrow();
    // An operator's reset zeroes the breaker's own metrics, not the run's.
    breaker.reset();
    expect(breaker.metrics().totalRequests).toBe(0);
    breaker.forceOpen();
    await expect(breaker.execute(async () => 'never runs')).rejects.toThrow();
    const tally = new UploadTally();
    tally.record('alice', ['allowed', 'blocked', 'allowed']);
    tally.add('rita');
    const timeline = new ReactionTimeline();
    timeline.faultStarted('spicedb', 1_000);
    timeline.stateChanged('spicedb', 'open', 1_250);
    const summary = collectSummary({
      registry,
      counts,
      authorization: {
        checks: {
          spicedb: { allowed: 3, denied: 1 },
          cache: { allowed: 5, denied: 0 },
          fallback: { allowed: 2, denied: 4 },
        },
      },
      users: [
        { name: 'alice', role: 'member' },
        { name: 'rita', role: 'reviewer' },
      ],
      tally,
      timeline,
      elapsedMs: 5_000,
    });
    expect(summary.breakers).toEqual([
      { name: 'spicedb', calls: 4, rejections: 2, openings: 2, toOpenMs: [250], toCloseMs: [] },
      { name: 'yara', calls: 1, rejections: 0, openings: 0, toOpenMs: [], toCloseMs: [] },
    ]);
    expect(summary.authorization).toEqual({
      spicedb: 4,
      cache: 5,
      fallbackAllowed: 2,
      fallbackDenied: 4,
    });
    counts.close();
    await yara.execute(async () => 'after the run');
    expect(counts.of('yara').calls).toBe(1);
    expect(summary.users).toEqual([
      { name: 'alice', role: 'member', allowed: 2, blocked: 1, denied: 0, failed: 0 },
      { name: 'rita', role: 'reviewer', allowed: 0, blocked: 0, denied: 0, failed: 0 },
    ]);
  });
});

describe('the reaction timeline', () => {
  it('measures fault start to the first opening and recovery start to the close after it', () => {
    const timeline = new ReactionTimeline();
    timeline.faultStarted('spicedb', 5_000);
    timeline.stateChanged('spicedb', 'open', 5_600);
    // Probes that fail during the fault re-open it: only the first opening is the reaction.
    timeline.stateChanged('spicedb', 'half_open', 8_600);
    timeline.stateChanged('spicedb', 'open', 9_100);
    timeline.recoveryStarted('spicedb', 13_000);
    timeline.stateChanged('spicedb', 'half_open', 15_100);
    timeline.stateChanged('spicedb', 'closed', 15_150);
    expect(timeline.times('spicedb')).toEqual({ toOpenMs: [600], toCloseMs: [2_150] });
  });

  it('measures nothing for a fault that never opened the breaker, nor for a close nobody waited for', () => {
    const timeline = new ReactionTimeline();
    timeline.stateChanged('clamav', 'open', 100);
    timeline.stateChanged('clamav', 'closed', 200);
    timeline.faultStarted('clamav', 1_000);
    timeline.recoveryStarted('clamav', 2_000);
    timeline.stateChanged('clamav', 'open', 2_500);
    timeline.stateChanged('clamav', 'closed', 3_000);
    expect(timeline.times('clamav')).toEqual({ toOpenMs: [], toCloseMs: [] });
    expect(timeline.times('never-seen')).toEqual({ toOpenMs: [], toCloseMs: [] });
  });

  it('measures each fault of a breaker in turn', () => {
    const timeline = new ReactionTimeline();
    for (const start of [0, 30_000]) {
      timeline.faultStarted('spicedb', start);
      timeline.stateChanged('spicedb', 'open', start + 400);
      timeline.recoveryStarted('spicedb', start + 8_000);
      timeline.stateChanged('spicedb', 'closed', start + 9_000 + start / 100);
    }
    expect(timeline.times('spicedb')).toEqual({ toOpenMs: [400, 400], toCloseMs: [1_000, 1_300] });
  });
});

describe('the fault script', () => {
  const spicedbOnly: Fault[] = FAULTS.filter((fault) => fault.target === 'spicedb');

  it('starts with a fault at 5 s that ends by 13 s, so a 20 s run sees an opening and its close', () => {
    expect(phaseAt(DEFAULT_SCHEDULE, FAULTS, 0)).toMatchObject({
      kind: 'fault',
      atMs: 5_000,
      number: 1,
    });
    expect(phaseAt(DEFAULT_SCHEDULE, FAULTS, 1)).toMatchObject({ kind: 'recovery', atMs: 13_000 });
    expect(phaseAt(DEFAULT_SCHEDULE, FAULTS, 0)?.fault.title).toBe('SpiceDB hangs');
  });

  it('cycles through the faults every 30 s, and only through those with a target', () => {
    const titles = [0, 2, 4, 6].map((i) => phaseAt(DEFAULT_SCHEDULE, spicedbOnly, i)?.fault.title);
    expect(titles).toEqual([
      'SpiceDB hangs',
      'SpiceDB is slow',
      'SpiceDB refuses connections',
      'SpiceDB hangs',
    ]);
    expect(phaseAt(DEFAULT_SCHEDULE, spicedbOnly, 2)).toMatchObject({
      kind: 'fault',
      atMs: 35_000,
      number: 2,
    });
    expect(phaseAt(DEFAULT_SCHEDULE, spicedbOnly, 3)).toMatchObject({
      kind: 'recovery',
      atMs: 43_000,
    });
    expect([0, 2, 4, 6].map((i) => phaseAt(DEFAULT_SCHEDULE, FAULTS, i)?.fault.target)).toEqual([
      'spicedb',
      'clamd',
      'spicedb',
      'clamd',
    ]);
    expect(phaseAt(DEFAULT_SCHEDULE, [], 0)).toBeUndefined();
  });

  it('takes a partial schedule over the defaults, and refuses one whose faults would overlap', () => {
    expect(checkSchedule('runDemo', { firstFaultMs: 2_000 })).toEqual({
      firstFaultMs: 2_000,
      faultMs: 8_000,
      everyMs: 30_000,
    });
    expect(() => checkSchedule('runDemo', { faultMs: 30_000 })).toThrow(
      'runDemo: option "phases.faultMs" (30000) must be less than "phases.everyMs" (30000)',
    );
    expect(() => checkSchedule('runDemo', { everyMs: -1 })).toThrow(
      'runDemo: option "phases.everyMs" must be a finite number of milliseconds >= 0, got -1',
    );
    expect(() => checkSchedule('runDemo', { first: 1 })).toThrow('unknown option "first"');
  });
});
