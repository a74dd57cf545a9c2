import type { AuthorizationService } from '@breakwater/authz';
import type { BreakerRegistry, Logger } from '@breakwater/core';
import {
  type Collector,
  collectAuthorizationMetrics,
  collectBreakerMetrics,
  collectScanMetrics,
} from '@breakwater/prometheus';
import type { ScanManager } from '@breakwater/scanbridge';
import { Registry } from 'prom-client';
import { processMetrics } from './process-metrics.js';

export interface Metrics {
  readonly register: Registry;
  close(): void;
}

/**
 * A prom-client register of the gateway's own (never the global one, so two gateways in one
 * process, or an application's own metrics, do not collide): breakers, authorization, scans,
 * and the process's standard `process_*` / `nodejs_*` metrics (made once per process, see
 * {@link processMetrics}; less three misnamed ones). All are read when scraped; nothing runs on a breaker's call path.
 */
export function buildMetrics(
  registry: BreakerRegistry,
  authorization: AuthorizationService,
  manager: ScanManager,
  logger: Logger,
): Metrics {
  const register = new Registry();
  const collectors: Collector[] = [];
  try {
    collectors.push(collectBreakerMetrics(registry, { register, logger }));
    collectors.push(collectAuthorizationMetrics(authorization, { register }));
    collectors.push(collectScanMetrics(manager, { register }));
    for (const metric of processMetrics()) register.registerMetric(metric);
  } catch (error) {
    for (const collector of collectors) collector.close();
    throw error;
  }
  return {
    register,
    close() {
      for (const collector of collectors) collector.close();
      register.clear();
    },
  };
}
