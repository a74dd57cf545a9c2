// The circuit-breaker guide, section by section, as running code.
import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import {
  Condition,
  FailurePolicy,
  FallbackBehavior,
  FileInput,
  MockScanner,
  PolicyAction,
  PolicyEngine,
  PolicyRule,
  presets,
  ScanError,
  ScanManager,
  withCircuitBreaker,
} from '../src/index.js';
import { bytes, EICAR } from './helpers.js';

const input = FileInput.fromBytes(bytes('quarterly report'), 'report.txt');

async function kindOf(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'ok',
    (error: unknown) =>
      error instanceof ScanError ? error.kind : `not a ScanError: ${String(error)}`,
  );
}

describe('Basic usage', () => {
  it('wraps a scanner, which is then used just like a regular scanner', async () => {
    const scanner = MockScanner.clean();
    const config = { failureThreshold: 5, openDuration: 30_000, successThreshold: 3 };
    const protectedScanner = withCircuitBreaker(scanner, config);
    const result = await protectedScanner.scan(input);
    expect(result.outcome).toEqual({ type: 'clean' });
    expect(protectedScanner.name).toBe('mock');
    expect(protectedScanner.breaker.state().name).toBe('closed');
  });
});

describe('Configuration options', () => {
  it('opens after failureThreshold failures, half-opens after openDuration, closes after successThreshold probes', async () => {
    const clock = new ManualClock(0);
    const scanner = MockScanner.clean();
    const protectedScanner = withCircuitBreaker(scanner, {
      failureThreshold: 5,
      openDuration: 30_000,
      successThreshold: 3,
      halfOpenMaxProbes: 1,
      clock,
    });
    scanner.makeUnhealthy();
    for (let i = 0; i < 5; i++)
      expect(await kindOf(protectedScanner.scan(input))).toBe('engine_unavailable');
    expect(protectedScanner.breaker.state().name).toBe('open');
    expect(await kindOf(protectedScanner.scan(input))).toBe('circuit_open');
    expect(scanner.scanCount).toBe(5);

    scanner.makeHealthy();
    clock.advance(30_000);
    expect(protectedScanner.breaker.state().name).toBe('half_open');
    for (let i = 0; i < 3; i++) expect(await kindOf(protectedScanner.scan(input))).toBe('ok');
    expect(protectedScanner.breaker.state().name).toBe('closed');
  });
});

describe('Failure policy', () => {
  it('counts timeouts, connection failures and unavailable engines, but not rate limiting, by default', async () => {
    const rateLimited = {
      name: 'virustotal',
      scan: async () => {
        throw new ScanError('rate_limited', 'quota exceeded', {
          engine: 'virustotal',
          retryAfter: 60_000,
        });
      },
      healthCheck: async () => {},
    };
    const protectedScanner = withCircuitBreaker(rateLimited, { failureThreshold: 2 });
    for (let i = 0; i < 5; i++)
      expect(await kindOf(protectedScanner.scan(input))).toBe('rate_limited');
    expect(protectedScanner.breaker.state().name).toBe('closed');
    expect(protectedScanner.breaker.metrics().ignoredErrors).toBe(5);
  });

  it('takes a custom policy: count rate limiting too', async () => {
    const policy = new FailurePolicy({
      countTimeouts: true,
      countConnectionFailures: true,
      countEngineUnavailable: true,
      countRateLimited: true,
      countAllErrors: false,
    });
    const failing = {
      name: 'virustotal',
      scan: async () => {
        throw new ScanError('rate_limited', 'quota exceeded');
      },
      healthCheck: async () => {},
    };
    const protectedScanner = withCircuitBreaker(failing, {
      failureThreshold: 2,
      failurePolicy: policy,
    });
    await kindOf(protectedScanner.scan(input));
    await kindOf(protectedScanner.scan(input));
    expect(protectedScanner.breaker.state().name).toBe('open');
  });

  it('has the built-in policies: connection only counts no unavailable engine', async () => {
    const scanner = MockScanner.clean();
    scanner.makeUnhealthy();
    const protectedScanner = withCircuitBreaker(scanner, {
      failureThreshold: 1,
      failurePolicy: FailurePolicy.connectionOnly(),
    });
    await kindOf(protectedScanner.scan(input));
    expect(protectedScanner.breaker.state().name).toBe('closed');
  });
});

describe('Fallback behaviors', () => {
  it('fails closed by default: rejected scans are a circuit_open ScanError naming the engine', async () => {
    const protectedScanner = withCircuitBreaker(MockScanner.clean().withName('clamav'), {
      fallback: FallbackBehavior.failClosed(),
    });
    protectedScanner.breaker.forceOpen();
    const error = await protectedScanner.scan(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({
      kind: 'circuit_open',
      engine: 'clamav',
      retryAfter: Number.POSITIVE_INFINITY,
    });
  });

  it('fails open with a clean result that says it is one: source failopen, a warning, engine <name>-failopen', async () => {
    const scanner = MockScanner.clean().withName('clamav');
    const protectedScanner = withCircuitBreaker(scanner, {
      ...presets.strict(),
      fallback: FallbackBehavior.failOpen(),
      logger: { info() {}, warn() {}, error() {} },
    });
    protectedScanner.breaker.forceOpen();
    const result = await protectedScanner.scan(FileInput.fromBytes(bytes(EICAR), 'eicar.com'));
    expect(result.outcome).toEqual({ type: 'clean' });
    expect(result.source).toBe('failopen');
    expect(result.engine).toBe('clamav-failopen');
    expect(result.details.warning).toMatch(
      /clamav did not scan this file \(its circuit breaker is open\)/,
    );
    expect(result.fileMetadata.size).toBe(68);
    expect(scanner.scanCount).toBe(0);
    expect(protectedScanner.breaker.metrics().fallbacks).toBe(1);
  });

  it('sends scans to a fallback scanner when the primary circuit opens', async () => {
    const primary = MockScanner.clean().withName('clamav');
    const fallback = MockScanner.infected(['Eicar']).withName('backup');
    const protectedScanner = withCircuitBreaker(primary, {
      fallback: FallbackBehavior.fallback(fallback),
    });
    protectedScanner.breaker.forceOpen();
    const result = await protectedScanner.scan(input);
    expect(result.engine).toBe('backup');
    expect(result.outcome.type).toBe('infected');
    expect(result.details.fallbackFor).toBe('clamav');
    expect(primary.scanCount).toBe(0);
    expect(fallback.scanCount).toBe(1);
  });
});

describe('Monitoring', () => {
  it('inspects state and metrics, and controls the breaker by hand', async () => {
    const scanner = MockScanner.clean().withFailRate(0.5);
    const protectedScanner = withCircuitBreaker(scanner, { failureThreshold: 5 });
    for (let i = 0; i < 4; i++) await kindOf(protectedScanner.scan(input));
    const state = protectedScanner.breaker.state();
    expect(state).toEqual({ name: 'closed', failureCount: 1 });
    const metrics = protectedScanner.breaker.metrics();
    expect(metrics).toMatchObject({
      totalRequests: 4,
      successfulRequests: 2,
      failedRequests: 2,
      rejectedRequests: 0,
    });
    expect(metrics.successRate).toBe(0.5);

    protectedScanner.breaker.forceOpen();
    expect(await kindOf(protectedScanner.scan(input))).toBe('circuit_open');
    expect(protectedScanner.breaker.metrics().rejectedRequests).toBe(1);
    protectedScanner.breaker.forceClose();
    expect(protectedScanner.breaker.state().name).toBe('closed');
    protectedScanner.breaker.reset();
    expect(protectedScanner.breaker.metrics().totalRequests).toBe(0);
  });
});

describe('Integration with ScanManager', () => {
  it('gives each scanner independent circuit breaker state', async () => {
    const clamav = MockScanner.clean().withName('clamav');
    const clamavCb = withCircuitBreaker(clamav, presets.strict());
    const vt = MockScanner.clean().withName('virustotal');
    const vtCb = withCircuitBreaker(vt, presets.highAvailability());
    const manager = ScanManager.builder().addScanner(clamavCb).addScanner(vtCb).build();

    clamav.makeUnhealthy();
    for (let i = 0; i < 3; i++) {
      const report = await manager.scan(input);
      expect(report.results.map((r) => r.engine)).toEqual(['virustotal']);
      expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
        ['clamav', 'engine_unavailable'],
      ]);
    }
    expect(clamavCb.breaker.state().name).toBe('open');
    expect(vtCb.breaker.state().name).toBe('closed');

    const report = await manager.scan(input);
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['clamav', 'circuit_open'],
    ]);
    expect(report.aggregatedOutcome).toEqual({ type: 'error', recoverable: true });
    expect(clamav.scanCount).toBe(3);
    expect(vt.scanCount).toBe(4);
  });
});

describe('Preset configurations', () => {
  it('strict opens quickly and recovers slowly; high availability tolerates failures', () => {
    expect(presets.strict()).toMatchObject({
      failureThreshold: 3,
      successThreshold: 5,
      openDuration: 60_000,
    });
    expect(presets.highAvailability()).toMatchObject({
      failureThreshold: 10,
      successThreshold: 2,
      openDuration: 10_000,
    });
    expect(presets.strict().fallback).toEqual({ kind: 'fail_closed' });
  });
});

describe('Interaction with policies', () => {
  it('fail closed: the scan fails with CircuitOpen, no result, the policy is not invoked', async () => {
    const protectedScanner = withCircuitBreaker(MockScanner.clean().withName('clamav'));
    protectedScanner.breaker.forceOpen();
    const manager = ScanManager.builder().addScanner(protectedScanner).build();
    const error = await manager.scanWithPolicy(input).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'circuit_open' });
    expect((error as ScanError).failures.map((f) => f.engine)).toEqual(['clamav']);
  });

  it('fail open: the block-fallback rule really matches the synthetic clean result', async () => {
    const protectedScanner = withCircuitBreaker(MockScanner.clean().withName('clamav'), {
      ...presets.strict(),
      fallback: FallbackBehavior.failOpen(),
      logger: { info() {}, warn() {}, error() {} },
    });
    const policy = new PolicyEngine({ defaultAction: PolicyAction.allow() }).addRule(
      new PolicyRule('block-fallback', PolicyAction.requireReview()).withCondition(
        Condition.sourceEquals('failopen'),
      ),
    );
    const manager = ScanManager.builder()
      .addScanner(protectedScanner)
      .withPolicyEngine(policy)
      .build();

    expect((await manager.scanWithPolicy(input)).decision.action.type).toBe('allow');
    protectedScanner.breaker.forceOpen();
    const { report, decision } = await manager.scanWithPolicy(input);
    expect(report.aggregatedOutcome.type).toBe('clean');
    expect(decision).toMatchObject({
      action: { type: 'require_review' },
      matchedRuleId: 'block-fallback',
    });
  });
});
