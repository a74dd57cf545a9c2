/**
 * The contenders, each behind the same small interface so every case runs the same
 * operation through each of them. Configurations match: no timeouts, no fallbacks,
 * consecutive-failure rules where the library has one.
 */
import { CircuitBreaker, FailurePolicy } from '@breakwater/core';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import Opossum from 'opossum';

export type Op = () => Promise<unknown>;
export type Observed = 'closed' | 'open' | 'half_open';

export interface Subject {
  readonly name: string;
  run(op: Op): Promise<unknown>;
  /** The breaker's state, so a case can prove its breaker stayed where it assumed. */
  state(): Observed;
  dispose(): void;
}

/** How a breaker is set up for a case: `trip` failures in a row open it, and it stays open. */
export interface Setup {
  trip: number;
}

const HOUR = 3_600_000;
// Count every error, as the peers do with handleAll.
const COUNT_ALL = FailurePolicy.allErrors();
const identity = <T>(value: T): T => value;
const rethrow = (error: unknown): never => {
  throw error;
};

export function bare(): Subject {
  return { name: 'bare await', run: (op) => op(), state: () => 'closed', dispose() {} };
}

/** The floor for any wrapper: one promise reaction that passes value and error through. */
export function thenWrapper(): Subject {
  return {
    name: 'do-nothing .then',
    run: (op) => op().then(identity, rethrow),
    state: () => 'closed',
    dispose() {},
  };
}

export function breakwater({ trip }: Setup): Subject {
  const breaker = new CircuitBreaker({
    name: 'bench',
    failureThreshold: trip,
    openDuration: HOUR,
    failurePolicy: COUNT_ALL,
  });
  return {
    name: 'breakwater',
    run: (op) => breaker.execute(op),
    state: () => breaker.state().name,
    dispose: () => breaker.dispose(),
  };
}

export function cockatiel({ trip }: Setup): Subject {
  const policy = circuitBreaker(handleAll, {
    halfOpenAfter: HOUR,
    breaker: new ConsecutiveBreaker(trip),
  });
  const names = ['closed', 'open', 'half_open', 'open'] as const; // CircuitState: Closed, Open, HalfOpen, Isolated
  return {
    name: 'cockatiel',
    run: (op) => policy.execute(op),
    state: () => names[policy.state] ?? 'open',
    dispose() {},
  };
}

export function opossum({ trip }: Setup): Subject {
  // opossum trips on an error percentage over a volume; 100% of `trip` calls is the
  // nearest it has to "trip consecutive failures". Latency percentiles are off: with them
  // on, opossum sorts every latency in its window on each call, and a failure costs
  // milliseconds once the window holds a few hundred thousand calls.
  const breaker = new Opossum((op: Op) => op(), {
    timeout: false,
    rollingPercentilesEnabled: false,
    resetTimeout: HOUR,
    errorThresholdPercentage: 50,
    volumeThreshold: trip,
  });
  return {
    name: 'opossum',
    run: (op) => breaker.fire(op),
    state: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'),
    dispose: () => breaker.shutdown(),
  };
}

export const breakers = [breakwater, cockatiel, opossum] as const;
