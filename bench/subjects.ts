/**
 * The contenders. Each library's adapter writes its own call sites (as a user's code
 * would), so no library's figures are skewed by a call site shared with the others.
 * Configurations match: no timeouts, no fallbacks, consecutive-failure rules where the
 * library has one, every error counted.
 */
import { BreakerRegistry, CircuitBreaker, FailurePolicy, type StateName } from '@breakwater/core';
import { ConsecutiveBreaker, circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel';
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
  /** Three successes, then a failure (caught), over and over: a 25% failure rate. */
  mixed(): Promise<unknown>;
  state(): Observed;
  dispose(): void;
}

/** `trip` failures in a row open the breaker, and it stays open. */
export interface Setup {
  trip: number;
}

export type MakeSubject = (setup: Setup) => Subject;

const HOUR = 3_600_000;

/** Every fourth call fails: below any rate threshold of 50%, so nothing trips. */
function everyFourthFails(success: () => Promise<unknown>, failure: () => Promise<unknown>) {
  let calls = 0;
  return () => ((++calls & 3) === 0 ? failure() : success());
}
const COUNT_ALL = FailurePolicy.allErrors();
const closed = (): Observed => 'closed';

export const bare: Subject = {
  name: 'bare await',
  success: () => SUCCESS(),
  failure: () => FAILURE().catch(noop),
  timer: () => TIMER(),
  mixed: everyFourthFails(SUCCESS, () => FAILURE().catch(noop)),
  state: closed,
  dispose: noop,
};

/** The floor for any wrapper: one promise reaction that passes value and error through. */
export const thenWrapper: Subject = {
  name: 'do-nothing .then',
  success: () => SUCCESS().then(identity, rethrow),
  failure: () => FAILURE().then(identity, rethrow).catch(noop),
  timer: () => TIMER().then(identity, rethrow),
  mixed: everyFourthFails(
    () => SUCCESS().then(identity, rethrow),
    () => FAILURE().then(identity, rethrow).catch(noop),
  ),
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

function breakwaterSubject(name: string, breaker: CircuitBreaker): Subject {
  const failure = () => breaker.execute(FAILURE).catch(noop);
  return {
    name,
    success: () => breaker.execute(SUCCESS),
    failure,
    timer: () => breaker.execute(TIMER),
    mixed: everyFourthFails(() => breaker.execute(SUCCESS), failure),
    state: () => breaker.state().name,
    dispose: () => breaker.dispose(),
  };
}

export const breakwater: MakeSubject = (setup) =>
  breakwaterSubject('breakwater', newBreakwater(setup));

/** The non-throwing path: a refused call resolves to `{ ok: false, rejected: true }`. */
export const breakwaterTry: MakeSubject = (setup) => {
  const breaker = newBreakwater(setup);
  return {
    ...breakwaterSubject('breakwater tryExecute', breaker),
    success: () => breaker.tryExecute(SUCCESS),
  };
};

export function newCockatiel({ trip }: Setup) {
  return circuitBreaker(handleAll, { halfOpenAfter: HOUR, breaker: new ConsecutiveBreaker(trip) });
}

// cockatiel's CircuitState: Closed, Open, HalfOpen, Isolated (held open).
const COCKATIEL_STATES = ['closed', 'open', 'half_open', 'open'] as const;

function cockatielSubject(name: string, policy: ReturnType<typeof newCockatiel>): Subject {
  const failure = () => policy.execute(FAILURE).catch(noop);
  return {
    name,
    success: () => policy.execute(SUCCESS),
    failure,
    timer: () => policy.execute(TIMER),
    mixed: everyFourthFails(() => policy.execute(SUCCESS), failure),
    state: () => COCKATIEL_STATES[policy.state] ?? 'open',
    dispose: noop,
  };
}

export const cockatiel: MakeSubject = (setup) => cockatielSubject('cockatiel', newCockatiel(setup));

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

function opossumSubject(breaker: Opossum<[Op], unknown>): Subject {
  const failure = () => breaker.fire(FAILURE).catch(noop);
  return {
    name: 'opossum',
    success: () => breaker.fire(SUCCESS),
    failure,
    timer: () => breaker.fire(TIMER),
    mixed: everyFourthFails(() => breaker.fire(SUCCESS), failure),
    state: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'),
    dispose: () => breaker.shutdown(),
  };
}

export const opossum: MakeSubject = (setup) => opossumSubject(newOpossum(setup));

export const breakers: readonly MakeSubject[] = [breakwater, cockatiel, opossum];

/**
 * Rate-window breakers, each tripping at a 50% failure rate over 10 s once it has seen
 * enough calls: ours with a time window of 10 buckets, cockatiel's SamplingBreaker, and
 * opossum, whose rolling window is the only kind it has.
 */
export const windowBreakers: readonly (() => Subject)[] = [
  () =>
    breakwaterSubject(
      'breakwater',
      new CircuitBreaker({
        name: 'bench',
        failureThreshold: Number.MAX_SAFE_INTEGER,
        openDuration: HOUR,
        failurePolicy: COUNT_ALL,
        window: {
          type: 'time',
          duration: 10_000,
          buckets: 10,
          minimumCalls: 20,
          failureRateThreshold: 0.5,
        },
      }),
    ),
  () =>
    cockatielSubject(
      'cockatiel',
      circuitBreaker(handleAll, {
        halfOpenAfter: HOUR,
        breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 2 }),
      }),
    ),
  () =>
    opossumSubject(
      new Opossum((op: Op) => op(), {
        timeout: false,
        rollingPercentilesEnabled: false,
        resetTimeout: HOUR,
        errorThresholdPercentage: 50,
        rollingCountTimeout: 10_000,
        rollingCountBuckets: 10,
        volumeThreshold: 20,
      }),
    ),
];

/**
 * Per-key breakers for the scale case, made for key `i`: through our registry, and the Map of
 * breakers a cockatiel user writes (it has no registry).
 */
export const keyedBreakers = {
  'breakwater registry': () => {
    const registry = new BreakerRegistry({ defaults: { failurePolicy: COUNT_ALL } });
    return (key: string) => registry.get(key);
  },
  'cockatiel in a Map': () => {
    const map = new Map<string, ReturnType<typeof newCockatiel>>();
    return (key: string) => {
      let policy = map.get(key);
      if (policy === undefined) {
        policy = newCockatiel({ trip: 5 });
        map.set(key, policy);
      }
      return policy;
    };
  },
} as const;

export type KeyedBreakerName = keyof typeof keyedBreakers;

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
