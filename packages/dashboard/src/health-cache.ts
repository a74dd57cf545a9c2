import type {
  BreakerHealth,
  BreakerRegistry,
  Clock,
  Criticality,
  HealthStatus,
  StateName,
} from '@breakwater/core';
import { STATUS_BY_RANK, statusRank } from './health.js';
import { SnapshotCache } from './snapshot-cache.js';

/** GET health's answer: the roll-up, and the body in parts to write. */
export interface HealthAnswer {
  readonly status: HealthStatus;
  readonly parts: readonly [string, Buffer];
}

/**
 * registry.health(), shared like the snapshot, with a roll-up that is never behind: the count
 * of breakers at each status rank is kept from every state change (two lookups), so the status
 * and a probe's 200 or 503 are the registry's at the moment of the request, while the list of
 * breakers is at most REBUILD_INTERVAL_MS behind under a churn of states.
 */
export class HealthCache {
  /** Breakers at each status rank (healthy, warning, degraded, critical). */
  private counts = [0, 0, 0, 0];
  private readonly cache: SnapshotCache<{ breakers: readonly BreakerHealth[] }>;

  constructor(registry: BreakerRegistry, clock: Clock) {
    this.cache = new SnapshotCache(
      () => {
        const { breakers } = registry.health();
        const counts = [0, 0, 0, 0];
        for (const { status } of breakers) bump(counts, STATUS_BY_RANK.indexOf(status), 1);
        this.counts = counts;
        return { breakers };
      },
      clock,
      () => registry.version,
    );
  }

  /** A breaker of the registry went from `from` to `to`. */
  changed(from: StateName, to: StateName, criticality: Criticality | undefined): void {
    if (!this.cache.holding) return;
    this.cache.changed();
    const before = criticality === undefined ? undefined : statusRank(from, criticality);
    if (before === undefined || (this.counts[before] ?? 0) === 0) {
      // A breaker the last build did not see: count again.
      this.cache.invalidate();
      return;
    }
    bump(this.counts, before, -1);
    bump(this.counts, statusRank(to, criticality as Criticality), 1);
  }

  invalidate(): void {
    this.cache.invalidate();
  }

  get(): HealthAnswer {
    const { body } = this.cache.get();
    let rank = this.counts.length - 1;
    while (rank > 0 && (this.counts[rank] ?? 0) === 0) rank--;
    const status = STATUS_BY_RANK[rank] ?? 'healthy';
    return { status, parts: [`{"status":"${status}",`, body.subarray(1)] };
  }
}

function bump(counts: number[], rank: number, by: number): void {
  counts[rank] = (counts[rank] ?? 0) + by;
}
