import { AuthorizationService, FallbackStrategy } from '@breakwater/authz';
import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { FileInput, MockScanner, ScanManager } from '@breakwater/scanbridge';
import type { Registry } from 'prom-client';
import { collectAuthorizationMetrics } from '../src/authorization-metrics.js';
import { collectBreakerMetrics } from '../src/breaker-metrics.js';
import { collectScanMetrics } from '../src/scan-metrics.js';
import { TupleChecker } from './tuple-checker.js';

const noop = () => undefined;
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

/**
 * All three collectors on `register`, over breakers, an authorization service and a scan manager
 * driven to known values on a clock that stands still, so every scrape reads the same numbers:
 * clamav (critical) open after 3 successes, 2 failures and 1 rejection; virustotal held open;
 * cache closed with a rate window (failure rate 0.25); spicedb (the service's) open after two
 * backend errors; one clean scan of 5 bytes.
 */
export async function drivenStack(register: Registry) {
  const clock = new ManualClock(1_700_000_000_000);
  const registry = new BreakerRegistry({ clock, defaults: { failureThreshold: 2, jitter: 0 } });
  const clamav = new CircuitBreaker({ name: 'clamav', clock, failureThreshold: 2 });
  registry.register('clamav', clamav, { criticality: 'critical' });
  const breakers = collectBreakerMetrics(registry, { register, durations: true });
  for (let i = 0; i < 3; i++) await clamav.execute(async () => 'clean');
  for (let i = 0; i < 2; i++) await clamav.execute(() => Promise.reject(refused())).catch(noop);
  await clamav.execute(async () => 'clean').catch(noop);
  registry.get('virustotal').forceOpen();
  const cache = registry.get('cache', {
    window: { type: 'count', size: 10, minimumCalls: 4, failureRateThreshold: 0.9 },
  });
  for (let i = 0; i < 3; i++) await cache.execute(async () => 'hit');
  await cache.execute(() => Promise.reject(refused())).catch(noop);

  const checker = new TupleChecker(clock, new Set(['user:alice|document:plan|read']));
  const service = new AuthorizationService({
    checker,
    clock,
    registry,
    breaker: { failureThreshold: 2, jitter: 0 },
    fallback: FallbackStrategy.denyAll(),
  });
  const authorization = collectAuthorizationMetrics(service, { register });
  checker.latencyMs = 20;
  await service.check({ subject: 'user:alice', resource: 'document:plan', permission: 'read' });
  await service.check({ subject: 'user:alice', resource: 'document:plan', permission: 'read' });
  checker.down = true;
  for (const subject of ['user:bob', 'user:carol'])
    await service.check({ subject, resource: 'document:plan', permission: 'read' });

  const manager = ScanManager.builder()
    .addScanner(MockScanner.clean().withName('mock'))
    .withConfig({ clock })
    .build();
  const scans = collectScanMetrics(manager, { register });
  await manager.scanWithPolicy(FileInput.fromBytes(new TextEncoder().encode('hello'), 'a.txt'));

  return {
    registry,
    close() {
      breakers.close();
      authorization.close();
      scans.close();
      service.close();
      registry.dispose();
    },
  };
}
