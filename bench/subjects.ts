/**
 * The contenders. Each library's adapter writes its own call sites (as a user's code
 * would), so no library's figures are skewed by a call site shared with the others.
 * Configurations match: no timeouts, no fallbacks, consecutive-failure rules where the
 * library has one, every error counted.
 */
import { CircuitBreaker, FailurePolicy, type StateName } from '@breakwater/core';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import Opossum from 'opossum';

export type Op = () => Promise<unknown>;
export type Observed = StateName;

export const SUCCESS: Op = async () => 1;
const FAILURE_ERROR = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
export const FAILURE: Op = async () => {
  throw FAILURE_ERROR;
};
export const TIMER: Op = () => new Promise((resolve) => setTimeout(resolve, 1, 1));
const noop = () => undefined;
const identity = <T>(value: T): T => value;
const rethrow = (error: unknown): never => {
  throw error;
};

/** One contender set up for one case: the calls a case measures, and its state. */
export interface Subject {
  readonly name: string;
  success(): Promise<unknown>;
  /** A call whose operation fails; the rejection is caught. */
  failure(): Promise<unknown>;
  /** A call of the 1 ms timer operation. */
  timer(): Promise<unknown>;
  state(): Observed;
  dispose(): void;
}

/** `trip` failures in a row open the breaker, and it stays open. */
export interface Setup {
  trip: number;
}

export type MakeSubject = (setup: Setup) => Subject;

const HOUR = 3_600_000;
const COUNT_ALL = FailurePolicy.allErrors();
const closed = (): Observed => 'closed';

export const bare: Subject = {
  name: 'bare await',
  success: () => SUCCESS(),
  failure: () => FAILURE().catch(noop),
  timer: () => TIMER(),
  state: closed,
  dispose: noop,
};

/** The floor for any wrapper: one promise reaction that passes value and error through. */
export const thenWrapper: Subject = {
  name: 'do-nothing .then',
  success: () => SUCCESS().then(identity, rethrow),
  failure: () => FAILURE().then(identity, rethrow).catch(noop),
  timer: () => TIMER().then(identity, rethrow),
  state: closed,
  dispose: noop,
};

export function newBreakwater({ trip }: Setup): CircuitBreaker {
  return new CircuitBreaker({
    name: 'bench',
    failureThreshold: trip,
    openDuration: HOUR,
    failurePolicy: COUNT_ALL,
  });
}

export const breakwater: MakeSubject = (setup) => {
  const breaker = newBreakwater(setup);
  return {
    name: 'breakwater',
    success: () => breaker.execute(SUCCESS),
    failure: () => breaker.execute(FAILURE).catch(noop),
    timer: () => breaker.execute(TIMER),
    state: () => breaker.state().name,
    dispose: () => breaker.dispose(),
  };
};

export function newCockatiel({ trip }: Setup) {
  return circuitBreaker(handleAll, { halfOpenAfter: HOUR, breaker: new ConsecutiveBreaker(trip) });
}

// cockatiel's CircuitState: Closed, Open, HalfOpen, Isolated (held open).
const COCKATIEL_STATES = ['closed', 'open', 'half_open', 'open'] as const;

export const cockatiel: MakeSubject = (setup) => {
  const policy = newCockatiel(setup);
  return {
    name: 'cockatiel',
    success: () => policy.execute(SUCCESS),
    failure: () => policy.execute(FAILURE).catch(noop),
    timer: () => policy.execute(TIMER),
    state: () => COCKATIEL_STATES[policy.state] ?? 'open',
    dispose: noop,
  };
};

export function newOpossum({ trip }: Setup): Opossum<[Op], unknown> {
  // opossum trips on an error percentage over a volume; 100% of `trip` calls is the
  // nearest it has to "trip consecutive failures". Latency percentiles are off: with them
  // on, opossum sorts every latency in its window on each call, and a failure costs
  // milliseconds once the window holds a few hundred thousand calls.
  return new Opossum((op: Op) => op(), {
    timeout: false,
    rollingPercentilesEnabled: false,
    resetTimeout: HOUR,
    errorThresholdPercentage: 50,
    volumeThreshold: trip,
  });
}

export const opossum: MakeSubject = (setup) => {
  const breaker = newOpossum(setup);
  return {
    name: 'opossum',
    success: () => breaker.fire(SUCCESS),
    failure: () => breaker.fire(FAILURE).catch(noop),
    timer: () => breaker.fire(TIMER),
    state: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'),
    dispose: () => breaker.shutdown(),
  };
};

export const breakers: readonly MakeSubject[] = [breakwater, cockatiel, opossum];

/** Raw breakers for the memory case: made, used once by a direct call, nothing else held. */
export const rawBreakers = {
  breakwater: {
    make: () => newBreakwater({ trip: 5 }),
    use: (b: CircuitBreaker) => b.execute(SUCCESS),
  },
  cockatiel: {
    make: () => newCockatiel({ trip: 5 }),
    use: (b: ReturnType<typeof newCockatiel>) => b.execute(SUCCESS),
  },
  opossum: {
    make: () => newOpossum({ trip: 5 }),
    use: (b: Opossum<[Op], unknown>) => b.fire(SUCCESS),
  },
} as const;

export type RawBreakerName = keyof typeof rawBreakers;
