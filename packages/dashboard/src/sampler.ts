import type {
  BreakerRegistry,
  CircuitBreaker,
  Criticality,
  HealthStatus,
  Transition,
} from '@breakwater/core';
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
  /** Its last transition at the last sample: a new one that says `reset` means one happened. */
  transition: Transition | undefined;
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
 * Every breaker starts from its totals when first seen, whether there at creation or found later:
 * core cannot tell a breaker `get()` made a moment ago from one `register()`ed with a long past,
 * and a past shown as one interval's calls is a spike that never happened. Its totals are in its
 * view; its history starts with a 0 for the interval that found it.
 *
 * A `reset()` restarts the breaker's counters. It is seen as its last transition turning into a
 * new one whose reason is `reset`, or as a counter going down; either way everything it counts
 * now happened since the last sample, and the breaker is listed as removed and added again, so a
 * reader replaces its row with the new view (a reset of a closed breaker followed by more calls
 * of every kind than it had before leaves no trace core shows, and is taken as calls).
 */
export class HistorySampler {
  /** Breakers whose call count moved in the last sample. */
  readonly changed: Tracked[] = [];
  /** Breakers first seen in the last sample, or whose counters restarted (also in `removed`). */
  readonly added: Tracked[] = [];
  /** Names gone from the registry since the sample before, replaced by another breaker, or reset. */
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
    const metrics = breaker.metrics();
    const transition = breaker.lastTransition();
    let tracked = this.tracked.get(name);
    let calls = 0;
    let errors = 0;
    if (tracked === undefined || tracked.breaker !== breaker) {
      if (tracked !== undefined) this.removed.push(name);
      tracked = new Tracked(name, breaker, criticality, this.historyLength, this.tick);
      this.tracked.set(name, tracked);
      // Its first figures travel in its view, with the breakers added.
      this.added.push(tracked);
    } else if (
      (transition !== tracked.transition && transition?.reason === 'reset') ||
      metrics.totalRequests < tracked.calls ||
      metrics.failedRequests < tracked.errors ||
      metrics.rejectedRequests < tracked.rejections
    ) {
      calls = metrics.totalRequests;
      errors = metrics.failedRequests;
      this.removed.push(name);
      this.added.push(tracked);
    } else {
      calls = metrics.totalRequests - tracked.calls;
      errors = metrics.failedRequests - tracked.errors;
      if (calls !== 0) this.changed.push(tracked);
    }
    tracked.seen = this.tick;
    if (!this.starting) tracked.history.push(calls, errors);
    tracked.calls = metrics.totalRequests;
    tracked.errors = metrics.failedRequests;
    tracked.callsDelta = calls;
    tracked.errorsDelta = errors;
    tracked.rejections = metrics.rejectedRequests;
    tracked.failureRate = metrics.failureRate;
    tracked.transition = transition;
  }
}
