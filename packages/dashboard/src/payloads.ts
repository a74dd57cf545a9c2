import type { BreakerEvents, CircuitBreaker, Criticality } from '@breakwater/core';
import { STATUS_BY_RANK } from './health.js';
import type { DashboardSettings } from './options.js';
import type { HistorySampler } from './sampler.js';
import type { Sources } from './sources.js';
import { type BreakerView, breakerView, rateOrNull } from './views.js';

/** A breaker of the registry, as a walk or the sampler has it. */
export interface BreakerEntry {
  readonly breaker: CircuitBreaker<unknown>;
  readonly criticality: Criticality;
}

export type StateChange = BreakerEvents['stateChange'];

/** A breaker's figures in a `stats` event: calls and errors since the last, rejections, rate. */
export type ChangedFigures = [number, number, number, number | null];

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
   * The breaker the registry holds under `name` now, with its criticality, when the last sample
   * saw that same breaker: one Map lookup each, so a `stateChange` listener may call it.
   */
  sampled(name: string): BreakerEntry | undefined {
    const breaker = this.settings.registry.find(name);
    const tracked = this.sampler.get(name);
    return breaker !== undefined && tracked?.breaker === breaker ? tracked : undefined;
  }

  /**
   * The breaker the registry holds under `name` now, or undefined. One made or replaced since
   * the last sample costs a walk for its criticality, which core keeps only in the registry: an
   * operator's control may pay that, a breaker's transition never does (see `stateChange`).
   */
  find(name: string): BreakerEntry | undefined {
    const sampled = this.sampled(name);
    if (sampled !== undefined) return sampled;
    const breaker = this.settings.registry.find(name);
    if (breaker === undefined) return undefined;
    let criticality: Criticality | undefined;
    this.settings.registry.forEach((each, _name, its) => {
      if (each === breaker) criticality = its;
    });
    return criticality === undefined ? undefined : { breaker, criticality };
  }

  view(name: string, entry: BreakerEntry): BreakerView {
    const tracked = this.sampler.get(name);
    // A breaker replaced under the same name since the last sample has no history yet.
    const history = tracked?.breaker === entry.breaker ? tracked.history : undefined;
    return breakerView(entry.breaker, name, entry.criticality, history);
  }

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
      takenAt: settings.clock.now(),
      controls: settings.token !== undefined,
      historyInterval: settings.sampleInterval,
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
      changed[t.name] = [t.callsDelta, t.errorsDelta, t.rejections, rateOrNull(t.failureRate)];
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
