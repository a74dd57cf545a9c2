import {
  type BreakerReading,
  CALL_OUTCOMES,
  CIRCUIT_STATES,
  TRANSITION_PAIRS,
} from '@breakwater/core/observe';
import type { Sample } from './family.js';
import type { HistogramSeries } from './histogram.js';

type Labels = Readonly<Record<string, string>>;

/**
 * The label sets of one `breaker` label value (a breaker's own, or `_other`), made once when the
 * breaker is given its series and reused by every scrape and every timed call.
 */
export class PromSeries {
  readonly breaker: Labels;
  readonly states: readonly Labels[];
  /** By CALL_OUTCOMES; a duration's labels are its outcome's here. */
  readonly outcomes: readonly Labels[];
  /** Duration histogram series by outcome (success, failure, ignored), made at the first timed call. */
  readonly durations: (HistogramSeries | undefined)[] = [undefined, undefined, undefined];
  private readonly pairs: (Labels | undefined)[] = [];

  constructor(
    readonly name: string,
    /** Tells apart two breakers of the same name, one gone and one new, in the histogram. */
    readonly id: number,
  ) {
    this.breaker = { breaker: name };
    this.states = CIRCUIT_STATES.map((state) => ({ breaker: name, state }));
    this.outcomes = CALL_OUTCOMES.map((outcome) => ({ breaker: name, outcome }));
  }

  /** Made on first use: most breakers only ever show the four automatic pairs. */
  transition(index: number): Labels {
    let labels = this.pairs[index];
    if (labels === undefined) {
      const [from, to] = TRANSITION_PAIRS[index] as (typeof TRANSITION_PAIRS)[number];
      labels = { breaker: this.name, from, to };
      this.pairs[index] = labels;
    }
    return labels;
  }
}

/** Every breaker family's samples from one walk over the registry. */
export interface BreakerScrape {
  readonly state: Sample[];
  readonly calls: Sample[];
  readonly transitions: Sample[];
  readonly failureRate: Sample[];
  readonly slowCallRate: Sample[];
  /** 0 healthy, 1 warning, 2 degraded, 3 critical: `registry.health().status`, without its array. */
  health: number;
}

export function emptyScrape(): BreakerScrape {
  return { state: [], calls: [], transitions: [], failureRate: [], slowCallRate: [], health: 0 };
}

/** Adds one series' samples (a breaker's own, or `_other`'s) to the scrape. */
export function addSeries(scrape: BreakerScrape, reading: BreakerReading<PromSeries>): void {
  const { series } = reading;
  for (let i = 0; i < CIRCUIT_STATES.length; i++)
    scrape.state.push({ labels: series.states[i] as Labels, value: reading.states[i] as number });
  for (let i = 0; i < CALL_OUTCOMES.length; i++)
    scrape.calls.push({ labels: series.outcomes[i] as Labels, value: reading.calls[i] as number });
  for (let i = 0; i < TRANSITION_PAIRS.length; i++) {
    if (reading.shows(i))
      scrape.transitions.push({
        labels: series.transition(i),
        value: reading.transitions[i] as number,
      });
  }
  // Core says -1 below minimumCalls or without a window (and always for _other): no sample.
  if (reading.failureRate >= 0)
    scrape.failureRate.push({ labels: series.breaker, value: reading.failureRate });
  if (reading.slowCallRate >= 0)
    scrape.slowCallRate.push({ labels: series.breaker, value: reading.slowCallRate });
}
