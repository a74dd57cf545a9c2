import type { BreakerEvents, CircuitBreaker, Criticality } from '@breakwater/core';
import { STATUS_BY_RANK } from './health.js';
import type { DashboardSettings } from './options.js';
import type { HistorySampler } from './sampler.js';
import type { Sources } from './sources.js';
import { type BreakerView, breakerView, rateOrNull } from './views.js';

/** A breaker of the registry, with the criticality it was registered with. */
export interface BreakerEntry {
  readonly breaker: CircuitBreaker<unknown>;
  readonly criticality: Criticality;
}

export type StateChange = BreakerEvents['stateChange'];

/**
 * A breaker's figures in a `stats` event: calls and errors since the last sample, rejections,
 * failure rate, and calls in all (a reset the sampler could not see still shows the right total).
 */
export type ChangedFigures = [number, number, number, number | null, number];

/**
 * What the dashboard sends, built from the registry and the sampler: the snapshot (GET
 * breakers, the first event of a stream), the `stats` and `state` events, a breaker's view.
 */
export class Payloads {
  constructor(
    private readonly settings: DashboardSettings,
    private readonly sampler: HistorySampler,
    private readonly sources: Sources,
  ) {}

  /**
   * The breaker the registry holds under `name` now, with its criticality, or undefined: two Map
   * lookups that count as no use, so a `stateChange` listener may call it inside a transition.
   */
  find(name: string): BreakerEntry | undefined {
    const { registry } = this.settings;
    const breaker = registry.find(name);
    const criticality = registry.criticalityOf(name);
    return breaker === undefined || criticality === undefined
      ? undefined
      : { breaker, criticality };
  }

  view(name: string, entry: BreakerEntry): BreakerView {
    const tracked = this.sampler.get(name);
    // A breaker replaced under the same name since the last sample has no history yet.
    const history = tracked?.breaker === entry.breaker ? tracked.history : undefined;
    return breakerView(entry.breaker, name, entry.criticality, history);
  }

  /**
   * The snapshot without its `takenAt`: it is shared for a while, and each reader is told the
   * time it is served (`stamped`), so a page's clock offset is right from the start.
   */
  snapshot() {
    const { settings } = this;
    const breakers: BreakerView[] = [];
    let worst = 0;
    settings.registry.forEach((breaker, name, criticality) => {
      const view = this.view(name, { breaker, criticality });
      worst = Math.max(worst, STATUS_BY_RANK.indexOf(view.status));
      breakers.push(view);
    });
    return {
      controls: settings.token !== undefined,
      historyInterval: settings.sampleInterval,
      historyLength: settings.historyLength,
      health: { status: STATUS_BY_RANK[worst] },
      breakers,
      ...this.sources.read(),
    };
  }

  /** The last sample, as the page takes it in: only what moved, plus what came and went. */
  stats() {
    const { sampler } = this;
    // No prototype: a breaker may be called "__proto__".
    const changed: Record<string, ChangedFigures> = Object.create(null);
    for (const t of sampler.changed) {
      changed[t.name] = [
        t.callsDelta,
        t.errorsDelta,
        t.rejections,
        rateOrNull(t.failureRate),
        t.calls,
      ];
    }
    return {
      at: this.settings.clock.now(),
      health: { status: sampler.status },
      total: sampler.size,
      changed,
      ...(sampler.added.length > 0 && { added: sampler.added.map((t) => this.view(t.name, t)) }),
      ...(sampler.removed.length > 0 && { removed: [...sampler.removed] }),
      ...this.sources.read(),
    };
  }

  /** A `state` event for the change of `entry`, the breaker registered under its name now. */
  stateChange({ breaker: name, from, to, reason }: StateChange, entry: BreakerEntry) {
    const last = entry.breaker.lastTransition();
    // The breaker's own time of the change, unless a later change has happened since.
    const at =
      last !== undefined && last.from === from && last.to === to && last.reason === reason
        ? last.at
        : this.settings.clock.now();
    return { name, from, to, reason, at, view: this.view(name, entry) };
  }
}
