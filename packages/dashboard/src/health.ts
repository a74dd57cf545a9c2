import type { Criticality, HealthStatus, StateName } from '@breakwater/core';

/** Core's ranking of statuses: the registry's roll-up is the worst of its breakers'. */
export const STATUS_BY_RANK: readonly HealthStatus[] = [
  'healthy',
  'warning',
  'degraded',
  'critical',
];

/**
 * Core's rule (registry.health()), by rank: an open breaker contributes its criticality,
 * half-open and disabled a warning. Read here from the states a sample already has in hand,
 * so a sample does not walk the registry a second time through health().
 */
export function statusRank(state: StateName, criticality: Criticality): number {
  if (state === 'closed') return 0;
  if (state !== 'open') return 1;
  return criticality === 'warning' ? 1 : criticality === 'degraded' ? 2 : 3;
}
