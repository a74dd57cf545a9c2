import type { BreakerEvents, CircuitBreaker, Criticality } from '@breakwater/core';
import { STATUS_BY_RANK } from './health.js';
import type { DashboardSettings } from './options.js';
import type { HistorySampler } from './sampler.js';
import { type BreakerView, breakerView, rateOrNull } from './views.js';

/** A breaker of the registry, as a walk or the sampler has it. */
export interface BreakerEntry {
  readonly breaker: CircuitBreaker<unknown>;
  readonly criticality: Criticality;
}

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
  ) {}

  /** The breaker registered as `name` now, or undefined. */
  find(name: string): BreakerEntry | undefined {
    const { registry } = this.settings;
    const tracked = this.sampler.get(name);
    if (tracked !== undefined && registry.has(name)) return tracked;
    // Made since the last sample: rare enough for a walk.
    let found: BreakerEntry | undefined;
    registry.forEach((breaker, each, criticality) => {
      if (found === undefined && each === name) found = { breaker, criticality };
    });
    return found;
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
      ...this.sources(),
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
      ...this.sources(),
    };
  }

  /** A `state` event, or undefined when the breaker left the registry before it was told. */
  stateChange({ breaker: name, from, to, reason }: BreakerEvents['stateChange']) {
    const entry = this.find(name);
    if (entry === undefined) return undefined;
    const last = entry.breaker.lastTransition();
    // The breaker's own time of the change, unless a later change has happened since.
    const at =
      last !== undefined && last.from === from && last.to === to && last.reason === reason
        ? last.at
        : this.settings.clock.now();
    return { name, from, to, reason, at, view: this.view(name, entry) };
  }

  private sources() {
    const { authorization, scans } = this.settings;
    return {
      ...(authorization && {
        authorization: { ...authorization.stats(), breaker: authorization.breaker.name },
      }),
      ...(scans && { scans: scans.stats() }),
    };
  }
}
