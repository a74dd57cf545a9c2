import type { BreakerRegistry, CircuitBreaker, Criticality, HealthStatus } from '@breakwater/core';
import { STATUS_BY_RANK, statusRank } from './health.js';
import { History } from './history.js';

/** A breaker the sampler follows, with what its last sample found. */
export class Tracked {
  readonly history: History;
  /** Totals at the last sample: the next delta is taken from them. */
  calls = 0;
  errors = 0;
  /** The last sample's figures, for the `stats` event. */
  callsDelta = 0;
  errorsDelta = 0;
  rejections = 0;
  failureRate = -1;
  /** The sample that last saw it in the registry. */
  seen: number;

  constructor(
    readonly name: string,
    readonly breaker: CircuitBreaker<unknown>,
    readonly criticality: Criticality,
    historyLength: number,
    tick: number,
  ) {
    this.history = new History(historyLength);
    this.seen = tick;
  }
}

/**
 * Every `sampleInterval` one walk of the registry, and nothing else: each breaker's calls and
 * errors since the last sample go into its history, and what moved, appeared or went is kept
 * for the `stats` event. The lists are reused from sample to sample.
 *
 * The breakers there at creation start from their totals: what they did before is not one
 * interval's worth. A breaker that appears later is new (made by `get()` on first use), so all
 * it did falls in the interval that found it: a new breaker failing at once shows its errors.
 */
export class HistorySampler {
  /** Breakers whose call count moved in the last sample (or whose counters were reset). */
  readonly changed: Tracked[] = [];
  /** Breakers first seen in the last sample. */
  readonly added: Tracked[] = [];
  /** Names gone from the registry since the sample before (or replaced by another breaker). */
  readonly removed: string[] = [];
  /** The registry's health as of the last sample. */
  status: HealthStatus = 'healthy';
  private readonly tracked = new Map<string, Tracked>();
  private tick = 0;
  private worst = 0;
  private seenCount = 0;
  /** True during the first walk, which takes each breaker's totals as its baseline. */
  private starting = true;
  private readonly visit: (
    breaker: CircuitBreaker<unknown>,
    name: string,
    criticality: Criticality,
  ) => void;

  constructor(
    private readonly registry: BreakerRegistry,
    private readonly historyLength: number,
  ) {
    // Made once: a sample allocates no closure.
    this.visit = (breaker, name, criticality) => this.sampleOne(breaker, name, criticality);
    this.sample();
    // The first walk only took the totals in; nothing is news yet.
    this.starting = false;
    this.added.length = 0;
    this.changed.length = 0;
  }

  /** The breaker tracked under `name`, if the last sample saw it. */
  get(name: string): Tracked | undefined {
    return this.tracked.get(name);
  }

  get size(): number {
    return this.tracked.size;
  }

  sample(): void {
    this.tick++;
    this.changed.length = 0;
    this.added.length = 0;
    this.removed.length = 0;
    this.worst = 0;
    this.seenCount = 0;
    this.registry.forEach(this.visit);
    this.status = STATUS_BY_RANK[this.worst] ?? 'critical';
    if (this.seenCount === this.tracked.size) return;
    for (const [name, tracked] of this.tracked) {
      if (tracked.seen === this.tick) continue;
      this.tracked.delete(name);
      this.removed.push(name);
    }
  }

  private sampleOne(breaker: CircuitBreaker<unknown>, name: string, criticality: Criticality) {
    this.seenCount++;
    const rank = statusRank(breaker.state().name, criticality);
    if (rank > this.worst) this.worst = rank;
    let tracked = this.tracked.get(name);
    let added = false;
    if (tracked === undefined || tracked.breaker !== breaker) {
      if (tracked !== undefined) this.removed.push(name);
      tracked = new Tracked(name, breaker, criticality, this.historyLength, this.tick);
      this.tracked.set(name, tracked);
      this.added.push(tracked);
      added = true;
    }
    tracked.seen = this.tick;
    const metrics = breaker.metrics();
    let calls = metrics.totalRequests - tracked.calls;
    let errors = metrics.failedRequests - tracked.errors;
    // A reset restarts the counters: everything counted now is new since the last sample.
    const reset = calls < 0 || errors < 0;
    if (reset) {
      calls = metrics.totalRequests;
      errors = metrics.failedRequests;
    }
    if (!this.starting) tracked.history.push(calls, errors);
    tracked.calls = metrics.totalRequests;
    tracked.errors = metrics.failedRequests;
    tracked.callsDelta = calls;
    tracked.errorsDelta = errors;
    tracked.rejections = metrics.rejectedRequests;
    tracked.failureRate = metrics.failureRate;
    // A new breaker's first figures travel in its view, with the breakers added.
    if (!added && (calls !== 0 || reset)) this.changed.push(tracked);
  }
}
