import type { Logger } from '@breakwater/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FALLBACK_ALLOWS_WARNING,
  FallbackStrategy,
  type UseCachedRulesOptions,
} from './fallback.js';
import type { CheckRequest, FallbackContext, FallbackDecider, FallbackReason } from './types.js';

const req: CheckRequest = {
  subject: 'user:alice',
  resource: 'document:readme',
  permission: 'read',
};
const open: FallbackContext = { reason: 'circuit_open', cached: undefined };

function recordingLogger(): Logger & { warnings: [Record<string, unknown>, string][] } {
  const warnings: [Record<string, unknown>, string][] = [];
  return {
    warnings,
    info: () => undefined,
    warn: (fields, message) => warnings.push([fields, message]),
    error: () => undefined,
  };
}

/** What process.emitWarning was asked to emit, recorded instead of printed. */
let emitted: unknown[][] = [];

beforeEach(() => {
  emitted = [];
  vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => {
    emitted.push(args);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const anyString = fc.oneof(fc.string(), fc.constantFrom('health:status', 'read', 'user:*', ''));
const anyRequest = fc.record({ subject: anyString, resource: anyString, permission: anyString });
const anyContext = fc.record({
  reason: fc.constantFrom<FallbackReason>('circuit_open', 'backend_error', 'timeout'),
  cached: fc.constantFrom(true, false, undefined),
  error: fc.anything(),
});

/** useCachedRules's options: biome's noThenProperty refuses `{ then: x }`, not the shorthand. */
function thenOption(then: unknown): UseCachedRulesOptions {
  return { then } as UseCachedRulesOptions;
}

function expectFrozen(decider: FallbackDecider, name: string): void {
  expect(decider.name).toBe(name);
  expect(Object.isFrozen(decider)).toBe(true);
}

describe('FallbackStrategy.denyAll', () => {
  it('is one shared frozen instance named deny_all', () => {
    expect(FallbackStrategy.denyAll()).toBe(FallbackStrategy.denyAll());
    expectFrozen(FallbackStrategy.denyAll(), 'deny_all');
  });

  it('never allows anything, whatever the request and context (property)', () => {
    const deny = FallbackStrategy.denyAll();
    fc.assert(
      fc.property(anyRequest, anyContext, (r, context) => {
        expect(deny.decide(r, context)).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('FallbackStrategy.allowHealthOnly', () => {
  it('allows read on health:status to anyone by default, and nothing else', () => {
    const health = FallbackStrategy.allowHealthOnly();
    expectFrozen(health, 'allow_health_only');
    const probe = { subject: 'user:anyone', resource: 'health:status', permission: 'read' };
    expect(health.decide(probe, open)).toBe(true);
    expect(health.decide({ ...probe, subject: 'service:monitor' }, open)).toBe(true);
    expect(health.decide({ ...probe, permission: 'write' }, open)).toBe(false);
    expect(health.decide({ ...probe, resource: 'health:other' }, open)).toBe(false);
    expect(health.decide({ ...probe, resource: 'health:status2' }, open)).toBe(false);
    expect(health.decide(req, { ...open, cached: true })).toBe(false);
  });

  it('takes another resource and permission', () => {
    const health = FallbackStrategy.allowHealthOnly({ resource: 'probe:live', permission: 'view' });
    expect(
      health.decide({ subject: 'user:x', resource: 'probe:live', permission: 'view' }, open),
    ).toBe(true);
    expect(
      health.decide({ subject: 'user:x', resource: 'health:status', permission: 'read' }, open),
    ).toBe(false);
  });

  it.each<[unknown, RegExp]>([
    [null, /^FallbackStrategy\.allowHealthOnly: options must be an object, got null/],
    [{ resouce: 'health:status' }, /^FallbackStrategy\.allowHealthOnly: unknown option "resouce"/],
    [{ resource: '' }, /option "resource" must be a non-empty string/],
    [{ resource: 'health:*' }, /option "resource": resource "health:\*" is a wildcard/],
    [{ resource: 'health' }, /option "resource": resource "health" is not type:id/],
    [{ permission: 'Read' }, /option "permission" must be a SpiceDB permission name, got "Read"/],
    [{ permission: 3 }, /option "permission" must be a SpiceDB permission name, got 3/],
  ])('refuses %j', (options, message) => {
    expect(() => FallbackStrategy.allowHealthOnly(options as never)).toThrow(TypeError);
    expect(() => FallbackStrategy.allowHealthOnly(options as never)).toThrow(message);
  });
});

describe('FallbackStrategy.allowReadOnly', () => {
  it('allows exactly the listed permissions to anyone on any resource', () => {
    const logger = recordingLogger();
    const read = FallbackStrategy.allowReadOnly({ permissions: ['read', 'view'], logger });
    expectFrozen(read, 'allow_read_only');
    expect(read.decide(req, open)).toBe(true);
    expect(read.decide({ ...req, permission: 'view', subject: 'user:mallory' }, open)).toBe(true);
    expect(read.decide({ ...req, permission: 'write' }, open)).toBe(false);
    expect(read.decide({ ...req, permission: 'delete' }, { ...open, cached: true })).toBe(false);
  });

  it('warns once, at construction, through the logger', () => {
    const logger = recordingLogger();
    const read = FallbackStrategy.allowReadOnly({ permissions: ['read', 'read', 'view'], logger });
    read.decide(req, open);
    read.decide(req, open);
    expect(logger.warnings).toEqual([
      [
        { strategy: 'allow_read_only', permissions: ['read', 'view'] },
        'FallbackStrategy.allowReadOnly: while SpiceDB cannot answer, anyone, signed in or not, may use "read", "view" on any resource',
      ],
    ]);
  });

  it('warns through process.emitWarning without a logger, with a code', () => {
    FallbackStrategy.allowReadOnly({ permissions: ['read'] });
    expect(emitted).toEqual([
      [
        'FallbackStrategy.allowReadOnly: while SpiceDB cannot answer, anyone, signed in or not, may use "read" on any resource',
        { code: FALLBACK_ALLOWS_WARNING },
      ],
    ]);
    expect(FALLBACK_ALLOWS_WARNING).toBe('BREAKWATER_AUTHZ_FALLBACK_ALLOWS');
  });

  it('warns through the logger only, when given one', () => {
    FallbackStrategy.allowReadOnly({ permissions: ['read'], logger: recordingLogger() });
    expect(emitted).toEqual([]);
  });

  it('the permissions it allows cannot be changed afterwards', () => {
    const permissions = ['read'];
    const read = FallbackStrategy.allowReadOnly({ permissions, logger: recordingLogger() });
    permissions.push('write');
    expect(read.decide({ ...req, permission: 'write' }, open)).toBe(false);
  });

  it.each<[unknown, RegExp]>([
    [undefined, /^FallbackStrategy\.allowReadOnly: options must be an object, got undefined/],
    [{}, /option "permissions" must be a non-empty array .*there is no default/],
    [{ permissions: [] }, /option "permissions" must be a non-empty array/],
    [{ permissions: 'read' }, /option "permissions" must be a non-empty array .* got "read"/],
    [{ permissions: ['read', 'Write'] }, /option "permissions" holds "Write", which is not/],
    [{ permissions: ['read', 7] }, /option "permissions" holds 7, which is not/],
    [{ permissions: ['read'], logger: console.log }, /option "logger" must be a Logger/],
    [{ permissions: ['read'], loger: {} }, /unknown option "loger"/],
  ])('refuses %j, and warns about nothing', (options, message) => {
    expect(() => FallbackStrategy.allowReadOnly(options as never)).toThrow(TypeError);
    expect(() => FallbackStrategy.allowReadOnly(options as never)).toThrow(message);
    expect(emitted).toHaveLength(0);
  });
});

describe('FallbackStrategy.useCachedRules', () => {
  it('answers the cached decision when there is one, else denies by default', () => {
    const cached = FallbackStrategy.useCachedRules();
    expectFrozen(cached, 'use_cached_rules');
    expect(cached.decide(req, { ...open, cached: true })).toBe(true);
    expect(cached.decide(req, { ...open, cached: false })).toBe(false);
    expect(cached.decide(req, open)).toBe(false);
  });

  it('never allows what the cache did not hold as allowed (property)', () => {
    const cached = FallbackStrategy.useCachedRules();
    fc.assert(
      fc.property(anyRequest, anyContext, (r, context) => {
        if (cached.decide(r, context)) expect(context.cached).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('a cached deny stays a deny even when then would allow', () => {
    const cached = FallbackStrategy.useCachedRules(thenOption(FallbackStrategy.allowHealthOnly()));
    const probe = { subject: 'user:a', resource: 'health:status', permission: 'read' };
    expect(cached.decide(probe, { ...open, cached: false })).toBe(false);
    expect(cached.decide(probe, open)).toBe(true);
    expect(cached.decide(req, open)).toBe(false);
  });

  it('gives then the request and context, and denies if then throws or answers a non-boolean', () => {
    const seen: [CheckRequest, FallbackContext][] = [];
    const then: FallbackDecider = {
      name: 'recording',
      decide: (r, context) => {
        seen.push([r, context]);
        return true;
      },
    };
    const context: FallbackContext = {
      reason: 'timeout',
      error: new Error('slow'),
      cached: undefined,
    };
    expect(FallbackStrategy.useCachedRules(thenOption(then)).decide(req, context)).toBe(true);
    expect(seen).toEqual([[req, context]]);
    const throwing: FallbackDecider = {
      name: 'throwing',
      decide: () => {
        throw new Error('boom');
      },
    };
    expect(FallbackStrategy.useCachedRules(thenOption(throwing)).decide(req, open)).toBe(false);
    const sloppy = { name: 'sloppy', decide: () => 'yes' } as unknown as FallbackDecider;
    expect(FallbackStrategy.useCachedRules(thenOption(sloppy)).decide(req, open)).toBe(false);
    const rejecting = {
      name: 'rejecting',
      decide: () => Promise.reject(new Error('async by mistake')),
    } as unknown as FallbackDecider;
    expect(FallbackStrategy.useCachedRules(thenOption(rejecting)).decide(req, open)).toBe(false);
  });

  it.each<[unknown, RegExp]>([
    [thenOption(() => true), /option "then" must be a FallbackDecider .* got a function/],
    [thenOption({ name: 'x' }), /option "then" must be a FallbackDecider/],
    [thenOption({ name: '', decide: () => true }), /option "then" must be a FallbackDecider/],
    [thenOption(null), /option "then" must be a FallbackDecider .* got null/],
    [{ than: FallbackStrategy.denyAll() }, /unknown option "than"/],
    ['deny', /^FallbackStrategy\.useCachedRules: options must be an object/],
  ])('refuses %j', (options, message) => {
    expect(() => FallbackStrategy.useCachedRules(options as never)).toThrow(TypeError);
    expect(() => FallbackStrategy.useCachedRules(options as never)).toThrow(message);
  });
});

describe('FallbackStrategy.custom', () => {
  it('calls the function with the request and context, and answers its boolean', () => {
    const seen: unknown[] = [];
    const custom = FallbackStrategy.custom((r, context) => {
      seen.push(r, context);
      return r.subject === 'user:admin';
    });
    expectFrozen(custom, 'custom');
    expect(custom.decide({ ...req, subject: 'user:admin' }, open)).toBe(true);
    expect(custom.decide(req, open)).toBe(false);
    expect(seen).toEqual([{ ...req, subject: 'user:admin' }, open, req, open]);
  });

  it('takes a name', () => {
    expect(FallbackStrategy.custom(() => false, { name: 'office_hours' }).name).toBe(
      'office_hours',
    );
  });

  it.each<[string, () => unknown]>([
    [
      'throws',
      () => {
        throw new Error('boom');
      },
    ],
    [
      'throws a non-error',
      () => {
        throw 'boom';
      },
    ],
    ['answers a string', () => 'true'],
    ['answers 1', () => 1],
    ['answers undefined', () => undefined],
    ['answers a promise', () => Promise.resolve(true)],
    [
      'is async and throws',
      async () => {
        throw new Error('boom');
      },
    ],
    [
      'answers a thenable that throws from then',
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose
        then: () => {
          throw new Error('boom');
        },
      }),
    ],
  ])('denies when the function %s, without throwing', (_, fn) => {
    const custom = FallbackStrategy.custom(fn as never);
    expect(custom.decide(req, open)).toBe(false);
  });

  it.each<[unknown, unknown, RegExp]>([
    [undefined, undefined, /^FallbackStrategy\.custom\(decide\) needs a function .* got undefined/],
    [true, undefined, /^FallbackStrategy\.custom\(decide\) needs a function .* got true/],
    [() => true, { nmae: 'x' }, /^FallbackStrategy\.custom: unknown option "nmae"/],
    [
      () => true,
      { name: '' },
      /^FallbackStrategy\.custom: option "name" must be a non-empty string/,
    ],
    [() => true, 'custom', /^FallbackStrategy\.custom: options must be an object/],
  ])('refuses (%j, %j)', (fn, options, message) => {
    expect(() => FallbackStrategy.custom(fn as never, options as never)).toThrow(TypeError);
    expect(() => FallbackStrategy.custom(fn as never, options as never)).toThrow(message);
  });
});
