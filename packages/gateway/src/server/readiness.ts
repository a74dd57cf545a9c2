import type { BreakerHealth, BreakerRegistry, HealthStatus } from '@breakwater/core';

export interface Readiness {
  readonly status: HealthStatus;
  readonly breakers: readonly BreakerHealth[];
}

/**
 * The registry's roll-up, and one rule a registry cannot know: when every engine's breaker is
 * open there is nothing left to scan with, which is critical however degraded each one alone is.
 */
export function readiness(registry: BreakerRegistry, engines: readonly string[]): Readiness {
  const health = registry.health();
  if (health.status === 'critical' || engines.length === 0) return health;
  const engineSet = new Set(engines);
  const open = health.breakers.filter((b) => engineSet.has(b.name) && b.state === 'open');
  return open.length === engines.length ? { ...health, status: 'critical' } : health;
}
