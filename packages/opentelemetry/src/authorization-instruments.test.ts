import {
  AuthorizationService,
  type AuthorizationServiceOptions,
  type CheckRequest,
  FallbackStrategy,
  type PermissionChecker,
} from '@breakwater/authz';
import { ManualClock } from '@breakwater/core';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { MeterHarness } from '../test/metric-reader.js';
import { instrumentAuthorization } from './authorization-instruments.js';
import { DURATION_BUCKETS, type Instrumentation } from './meter.js';

const CHECKS = 'authorization.checks';
const ENTRIES = 'authorization.cache.entries';
const FALLBACKS = 'authorization.fallbacks';
const DURATION = 'authorization.check.duration';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A PermissionChecker answering from a tuple set after `latencyMs` on the test's clock; or
 * refusing every connection, or hanging until the service gives up on it.
 */
class TupleChecker implements PermissionChecker {
  mode: 'answer' | 'refuse' | 'hang' = 'answer';
  private readonly tuples = new Set<string>();

  constructor(
    private readonly clock: ManualClock,
    private readonly latencyMs: number,
  ) {}

  allow(subject: string, resource: string, permission: string): this {
    this.tuples.add(`${subject}|${resource}|${permission}`);
    return this;
  }

  check(req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    if (this.mode === 'refuse') {
      const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:50051'), {
        code: 'ECONNREFUSED',
      });
      return Promise.reject(error);
    }
    if (this.mode === 'hang') {
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    this.clock.advance(this.latencyMs);
    return Promise.resolve(this.tuples.has(`${req.subject}|${req.resource}|${req.permission}`));
  }

  health(): Promise<void> {
    return Promise.resolve();
  }
}

let harness: MeterHarness | undefined;
let handle: Instrumentation | undefined;
let service: AuthorizationService | undefined;

afterEach(async () => {
  handle?.close();
  service?.close();
  await harness?.shutdown();
  handle = service = harness = undefined;
});

function setUp(
  options: Partial<AuthorizationServiceOptions> = {},
  temporality?: AggregationTemporality,
) {
  const clock = new ManualClock(1_000_000);
  const checker = new TupleChecker(clock, 20).allow('user:ann', 'doc:1', 'read');
  service = new AuthorizationService({
    checker,
    clock,
    fallback: FallbackStrategy.allowHealthOnly(),
    ...options,
  });
  harness = new MeterHarness(temporality);
  return { clock, checker, service, harness, meter: harness.meter };
}

const read = (subject: string, resource: string) => ({ subject, resource, permission: 'read' });

describe('instrumentAuthorization', () => {
  it('reports checks by result and source, the cache size and fallbacks by strategy and reason', async () => {
    const { clock, checker, service, harness, meter } = setUp();
    handle = instrumentAuthorization(service, { meter });
    const heard: number[] = [];
    service.on('decision', ({ durationMs }) => heard.push(durationMs));

    await service.check(read('user:ann', 'doc:1'));
    await service.check(read('user:ann', 'doc:1'));
    await service.check(read('user:bob', 'doc:1'));
    await service.check(read('user:bob', 'doc:1'));
    checker.mode = 'hang';
    const hung = service.check(read('user:cy', 'doc:2'));
    for (let i = 0; i < 5; i++) await tick();
    clock.advance(2_000);
    await expect(hung).resolves.toMatchObject({ source: 'fallback', reason: 'timeout' });
    checker.mode = 'refuse';
    await service.check(read('user:cy', 'doc:3'));
    await expect(service.check(read('user:cy', 'health:status'))).resolves.toMatchObject({
      allowed: true,
      source: 'fallback',
      reason: 'backend_error',
    });
    await expect(service.check(read('user:cy', 'doc:4'))).resolves.toMatchObject({
      reason: 'circuit_open',
    });

    const collected = await harness.collect();
    const checks = collected.keyed(CHECKS, 'authorization.source', 'authorization.result');
    // The default cache keeps no denies: bob's second check asked SpiceDB again.
    expect(checks).toEqual({
      'cache/allowed': 1,
      'cache/denied': 0,
      'spicedb/allowed': 1,
      'spicedb/denied': 2,
      'fallback/allowed': 1,
      'fallback/denied': 3,
    });
    const stats = service.stats();
    for (const [source, counts] of Object.entries(stats.checks)) {
      expect([checks[`${source}/allowed`], checks[`${source}/denied`]]).toEqual([
        counts.allowed,
        counts.denied,
      ]);
    }
    expect(collected.metric(CHECKS)).toMatchObject({
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
    });

    expect(stats.cache?.entries).toBeGreaterThan(0);
    expect(collected.points(ENTRIES)).toEqual([{ attributes: {}, value: stats.cache?.entries }]);

    expect(collected.points(FALLBACKS)).toEqual([
      {
        attributes: {
          'authorization.strategy': 'allow_health_only',
          'authorization.reason': 'circuit_open',
        },
        value: 1,
      },
      {
        attributes: {
          'authorization.strategy': 'allow_health_only',
          'authorization.reason': 'backend_error',
        },
        value: 2,
      },
      {
        attributes: {
          'authorization.strategy': 'allow_health_only',
          'authorization.reason': 'timeout',
        },
        value: 1,
      },
    ]);

    const [duration] = collected.histograms(DURATION);
    expect(heard).toHaveLength(8);
    expect(heard).toEqual(expect.arrayContaining([0, 20, 2_000]));
    expect(duration?.attributes).toEqual({});
    expect(duration?.value.count).toBe(heard.length);
    expect(duration?.value.sum).toBeCloseTo(heard.reduce((a, b) => a + b, 0) / 1000, 10);
    expect(duration?.value.max).toBe(2);
    expect(duration?.value.buckets.boundaries).toEqual(DURATION_BUCKETS);
    expect(collected.metric(DURATION)?.descriptor.unit).toBe('s');
  });

  it('reports no cache size for a service without a cache', async () => {
    const { service, harness, meter } = setUp({ cache: false });
    handle = instrumentAuthorization(service, { meter });
    await service.check(read('user:ann', 'doc:1'));

    const collected = await harness.collect();
    expect(collected.names()).not.toContain(ENTRIES);
    expect(
      collected.value(CHECKS, {
        'authorization.result': 'allowed',
        'authorization.source': 'spicedb',
      }),
    ).toBe(1);
  });

  it('stops on close(): no more points, and its decision listener is gone', async () => {
    const { service, harness, meter } = setUp({}, AggregationTemporality.DELTA);
    handle = instrumentAuthorization(service, { meter });
    await service.check(read('user:ann', 'doc:1'));
    expect((await harness.collect()).names()).toEqual([CHECKS, ENTRIES, FALLBACKS, DURATION]);

    handle.close();
    handle.close();
    await service.check(read('user:ann', 'doc:2'));
    await service.check(read('user:ann', 'doc:1'));
    expect((await harness.collect()).names()).toEqual([]);
  });

  it('refuses what it cannot use, naming the option', () => {
    const { service, meter } = setUp();
    expect(() => instrumentAuthorization(service, { meter, prefix: 'x' } as never)).toThrow(
      'instrumentAuthorization: unknown option "prefix"; known options are meter',
    );
    expect(() => instrumentAuthorization(service, { meter: {} as never })).toThrow(
      'instrumentAuthorization: option "meter" must be an OpenTelemetry Meter',
    );
    expect(() => instrumentAuthorization({ stats: () => ({}) } as never, { meter })).toThrow(
      'instrumentAuthorization: needs an AuthorizationService (with stats() and on()), got an object',
    );
  });
});
