import { NEVER_ABORTS, TrackedCall } from './call.js';
import { startBackgroundTimer, stopTimer, type TimerHandle } from './clock.js';
import { circuitOpenError, type RejectingState } from './errors.js';
import {
  type BreakerEventName,
  type BreakerEvents,
  type Listener,
  Listeners,
  type TransitionReason,
} from './events.js';
import { classifyError, type ErrorCategory } from './failure-policy.js';
import type { FallbackBehavior, FallbackReason } from './fallback.js';
import { openPeriod } from './open-period.js';
import { type CircuitBreakerOptions, resolveOptions, type Settings } from './options.js';
import { log, reportProblem } from './report.js';
import { retryAfterOf } from './retry-after.js';
import { type BreakerSnapshot, parseSnapshot, snapshotHeader } from './snapshot.js';
import type { BreakerMetrics, BreakerState, StateName } from './state.js';
import {
  failed,
  failedUncounted,
  succeeded,
  type TryResult,
  VerdictRecorder,
} from './try-result.js';
import { describeValue } from './validate.js';
import type { CallWindow } from './windows/call-window.js';

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const DISABLED = 3;
type State = typeof CLOSED | typeof OPEN | typeof HALF_OPEN | typeof DISABLED;
const STATE_NAMES: readonly StateName[] = ['closed', 'open', 'half_open', 'disabled'];

/** The operation a breaker runs: it gets an AbortSignal that aborts on timeout or the caller's abort. */
export type Operation<R> = (signal: AbortSignal) => R | PromiseLike<R>;

/**
 * Events that need a timer to be reported on time rather than on the next call: open ->
 * half-open when the open period ends, half-open -> open when the probes run out of time.
 */
const CLOCK_EVENTS: readonly BreakerEventName[] = ['stateChange', 'halfOpen', 'open'];
/** Events that need per-call bookkeeping (start time), so calls leave the fast path. */
const CALL_EVENTS: readonly BreakerEventName[] = ['success', 'failure', 'ignored', 'timeout'];
const NO_LISTENERS = new Listeners<BreakerEvents>(() => {});

function stateIndex(name: StateName, role: 'from' | 'to'): number {
  const index = STATE_NAMES.indexOf(name);
  if (index === -1) {
    throw new TypeError(
      `transitionCount: "${role}" must be one of ${STATE_NAMES.join(', ')}, got ${describeValue(name)}`,
    );
  }
  return index;
}

function isAbortSignal(value: unknown): value is AbortSignal {
  const signal = value as AbortSignal | null;
  return (
    typeof signal === 'object' &&
    signal !== null &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function'
  );
}

class Tallies {
  timeouts = 0;
  fallbacks = 0;
  opened = 0;
  closed = 0;
  wouldOpen = 0;
  /** Transitions, at from * STATE_NAMES.length + to. 64 bytes: V8 keeps it on the heap. */
  readonly transitions = new Uint32Array(STATE_NAMES.length ** 2);
}

/** The breaker's last change of state, kept for dashboards and metrics (it survives `reset()`). */
export interface Transition {
  readonly from: StateName;
  readonly to: StateName;
  readonly reason: TransitionReason;
  /** Epoch ms, by the breaker's clock. */
  readonly at: number;
}

/**
 * A circuit breaker: closed (calls run; consecutive counted failures open it), open
 * (calls are rejected at once until `openDuration` passes), half-open (a few probes run;
 * enough successes close it, a failure re-opens it).
 *
 * Every transition starts a new generation. A call remembers the generation that
 * admitted it, so a call that finishes after the breaker has moved on is counted in
 * the metrics but cannot move the new state.
 *
 * `T` is what the fallback produces (nothing, by default): calls resolve to the
 * operation's own type or `T`.
 */
export class CircuitBreaker<T = never> {
  readonly name: string;
  private readonly settings: Settings<T>;
  // Shared and empty until the first subscription: most breakers never have listeners.
  private events: Listeners<BreakerEvents> = NO_LISTENERS;

  private current: State = CLOSED;
  private generation = 0;
  private failureCount = 0;
  private successCount = 0;
  private probes = 0;
  private attempt = 0;
  private openedAt = 0;
  /**
   * When the open or half-open period runs out: open -> half-open at the end of the open period,
   * half-open -> open `halfOpenMaxWait` after a probe took a slot with none in flight or, while
   * others stay in flight, after the last probe's result. Infinity while held open, or half-open
   * with no probe in flight.
   */
  private until = 0;
  private forced = false;
  /** Reports the next timed transition on time; only while someone listens for it. */
  private timer: TimerHandle | undefined;
  /** True while no call needs per-call bookkeeping: the fast path. */
  private plain: boolean;
  /** True while someone listens for what the timer reports on time. */
  private clocked = false;
  private warnedFailOpen = false;
  /** The rate rule's recent calls, while closed; undefined without a `window` option. */
  private readonly window: CallWindow | undefined;

  // Outcome handlers of the current generation: made once per transition, never per call.
  private onFulfilled!: () => void;
  private onRejected!: (error: unknown) => void;
  // tryExecute's fast path, one handler each way: it builds the result where the verdict is known.
  private onTryFulfilled!: (value: unknown) => TryResult<unknown>;
  private onTryRejected!: (error: unknown) => TryResult<never>;

  /** The first generation whose calls count: calls admitted before the last `reset()` do not. */
  private countedFrom = 0;
  private successes = 0;
  private failures = 0;
  private rejections = 0;
  private ignored = 0;
  /** Counts of rarer events, allocated the first time one happens: most breakers never need it. */
  private tallies: Tallies | undefined;
  private last: Transition | undefined;

  constructor(options?: CircuitBreakerOptions<T>) {
    this.settings = resolveOptions(options);
    this.name = this.settings.name;
    this.window = this.settings.window?.create();
    this.plain = this.needsNoTracking();
    // Checked whole before anything is applied; not kept in the settings, which every breaker carries.
    const saved =
      options?.initialState === undefined
        ? undefined
        : parseSnapshot('CircuitBreaker', this.name, options.initialState);
    if (saved !== undefined) this.restore(saved);
    this.newGeneration();
  }

  /** Runs `fn` through the breaker: its value, its error, a rejection or the fallback's answer. */
  execute<R>(fn: Operation<R>, signal?: AbortSignal): Promise<R | T> {
    this.checkCall('execute', fn, signal);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.current !== CLOSED) {
      const retryAfter = this.admit();
      if (retryAfter >= 0) return this.rejectCall(retryAfter) as Promise<T>;
    }
    return this.run(fn, signal);
  }

  /**
   * Like `execute`, but never rejects: resolves to `{ ok: true, value }`, `{ ok: false,
   * rejected: true, retryAfter }` (refused, without allocating an error) or `{ ok: false,
   * rejected: false, error, counted }`. A fallback's answer is `ok: true`. `counted` is the
   * failure policy's verdict on this call's error, true even where the breaker could not act on
   * it (after `reset()`, `forceOpen()` or another transition, while disabled, in observe mode).
   */
  tryExecute<R>(fn: Operation<R>, signal?: AbortSignal): Promise<TryResult<R | T>> {
    this.checkCall('tryExecute', fn, signal);
    if (signal?.aborted === true) return Promise.resolve(failed(signal.reason, false));
    if (this.current !== CLOSED) {
      const retryAfter = this.admit();
      if (retryAfter >= 0) {
        if (this.settings.fallback.kind !== 'fail_closed') {
          return this.rejectCall(retryAfter).then(succeeded, failedUncounted) as Promise<
            TryResult<T>
          >;
        }
        this.countRejection(retryAfter);
        return Promise.resolve({ ok: false, rejected: true, retryAfter });
      }
    }
    if (signal !== undefined || !this.plain) {
      // The verdict is this call's own: a recorder per call keeps it until the call settles.
      const recorder = new VerdictRecorder(this);
      const call = new TrackedCall<R | T>(
        recorder,
        this.settings.clock,
        this.generation,
        signal,
        this.settings.timeout,
      );
      return call.run(fn).then(succeeded, recorder.failed);
    }
    let result: Promise<R>;
    try {
      result = Promise.resolve(fn(NEVER_ABORTS));
    } catch (error) {
      return Promise.resolve(this.onTryRejected(error));
    }
    return result.then(this.onTryFulfilled as (value: R) => TryResult<R>, this.onTryRejected);
  }

  private checkCall(method: string, fn: unknown, signal: unknown): void {
    if (typeof fn !== 'function') {
      throw new TypeError(
        `CircuitBreaker "${this.name}": ${method}(fn) needs a function, got ${describeValue(fn)}`,
      );
    }
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new TypeError(
        `CircuitBreaker "${this.name}": ${method}(fn, signal) needs an AbortSignal, got ${describeValue(signal)}`,
      );
    }
  }

  /** Runs an admitted call. */
  private run<R>(fn: Operation<R>, signal: AbortSignal | undefined): Promise<R | T> {
    if (signal !== undefined || !this.plain) {
      const call = new TrackedCall<R | T>(
        this,
        this.settings.clock,
        this.generation,
        signal,
        this.settings.timeout,
      );
      return call.run(fn);
    }
    // The fast path hands back the operation's own promise and watches it on a side
    // chain whose handlers never throw: re-throwing through a wrapper costs far more.
    const onFulfilled = this.onFulfilled;
    const onRejected = this.onRejected;
    let result: Promise<R>;
    try {
      result = Promise.resolve(fn(NEVER_ABORTS));
    } catch (error) {
      onRejected(error);
      return Promise.reject(error);
    }
    result.then(onFulfilled, onRejected);
    return result;
  }

  /** `fn` with the same parameters and `this`, every call going through the breaker. */
  wrap<A extends unknown[], R, This = unknown>(
    fn: (this: This, ...args: A) => R | PromiseLike<R>,
  ): (this: This, ...args: A) => Promise<R | T> {
    if (typeof fn !== 'function') {
      throw new TypeError(
        `CircuitBreaker "${this.name}": wrap(fn) needs a function, got ${describeValue(fn)}`,
      );
    }
    const breaker = this;
    return function (this: This, ...args: A): Promise<R | T> {
      return breaker.execute(() => fn.apply(this, args));
    };
  }

  /** The state as of the breaker's clock: once an open period has passed, it reads half-open. */
  state(): BreakerState {
    this.catchUp();
    switch (this.current) {
      case CLOSED:
        return { name: 'closed', failureCount: this.failureCount };
      case OPEN:
        return { name: 'open', openedAt: this.openedAt, until: this.until, forced: this.forced };
      case HALF_OPEN:
        return { name: 'half_open', successCount: this.successCount, probeCount: this.probes };
      case DISABLED:
        return { name: 'disabled' };
    }
  }

  /** As of the breaker's clock, like `state()`: a half-open period that ran out is counted open. */
  metrics(): BreakerMetrics {
    this.catchUp();
    const judged = this.successes + this.failures;
    return {
      totalRequests: judged + this.ignored + this.rejections,
      successfulRequests: this.successes,
      failedRequests: this.failures,
      rejectedRequests: this.rejections,
      ignoredErrors: this.ignored,
      timeouts: this.tallies?.timeouts ?? 0,
      fallbacks: this.tallies?.fallbacks ?? 0,
      timesOpened: this.tallies?.opened ?? 0,
      timesClosed: this.tallies?.closed ?? 0,
      timesWouldOpen: this.tallies?.wouldOpen ?? 0,
      successRate: judged === 0 ? 1 : this.successes / judged,
      failureRate: this.rate('failures'),
      slowCallRate: this.rate('slowCalls'),
    };
  }

  private rate(count: 'failures' | 'slowCalls'): number {
    const { window } = this;
    if (window === undefined) return -1;
    window.advance(this.settings.clock.now());
    const { minimumCalls } = this.settings.window as { minimumCalls: number };
    return window.calls < minimumCalls ? -1 : window[count] / window.calls;
  }

  /**
   * Transitions from `from` to `to` since construction or the last `reset()`, counted as they
   * happen, so a scrape sees an opening shorter than its interval. Forcing a timed open open
   * counts as open -> open.
   */
  transitionCount(from: StateName, to: StateName): number {
    const index = stateIndex(from, 'from') * STATE_NAMES.length + stateIndex(to, 'to');
    this.catchUp();
    return this.tallies?.transitions[index] ?? 0;
  }

  /**
   * The last change of state and its reason; undefined until the first. An open period's end
   * is stamped with the moment it ended, even when nothing read the breaker until later.
   */
  lastTransition(): Transition | undefined {
    this.catchUp();
    return this.last;
  }

  /** The state as JSON, for `initialState` in the next process (`JSON.stringify(breaker)` works too). */
  toJSON(): BreakerSnapshot {
    this.catchUp();
    const open = this.current === OPEN;
    return {
      ...snapshotHeader(this.name),
      state: STATE_NAMES[this.current] as StateName,
      failureCount: this.failureCount,
      successCount: this.successCount,
      attempt: this.attempt,
      openedAt: open ? this.openedAt : null,
      until: open && !this.forced ? this.until : null,
      savedAt: this.settings.clock.now(),
    };
  }

  /**
   * Takes up a saved state; an open period that has passed since is already over. In observe
   * mode only an operator's choice (held open, disabled) is taken up: it never rejects on its own.
   */
  private restore(saved: BreakerSnapshot): void {
    const operators =
      saved.state === 'disabled' || (saved.state === 'open' && saved.until === null);
    if (this.settings.observe && !operators) return;
    this.attempt = saved.attempt;
    switch (saved.state) {
      case 'closed':
        this.failureCount = saved.failureCount;
        return;
      case 'disabled':
        this.current = DISABLED;
        return;
      case 'half_open':
        this.current = HALF_OPEN;
        this.successCount = saved.successCount;
        this.until = Number.POSITIVE_INFINITY;
        return;
      case 'open':
        if (saved.until !== null && saved.until <= this.settings.clock.now()) {
          this.current = HALF_OPEN;
          this.until = Number.POSITIVE_INFINITY;
          return;
        }
        this.current = OPEN;
        this.forced = saved.until === null;
        this.openedAt = saved.openedAt as number;
        this.until = saved.until ?? Number.POSITIVE_INFINITY;
    }
  }

  /** Holds the breaker open (maintenance) until `forceClose()` or `reset()`. */
  forceOpen(): void {
    // An open period that ran out is half-open first, as a timer would have told it.
    this.catchUp();
    if (this.current !== OPEN) {
      this.open('forced_open', true);
      return;
    }
    // Already held open: nothing changes, so nothing is told.
    if (this.forced) return;
    // A timed open becomes held open, open since the same moment: an opening of its own.
    this.forced = true;
    this.until = Number.POSITIVE_INFINITY;
    this.tally().opened++;
    this.cancelTimer();
    this.tellOpened(OPEN, 'forced_open');
  }

  /** `forceOpen()` by the name Polly and resilience4j operators know: held open until released. */
  isolate(): void {
    this.forceOpen();
  }

  /**
   * Takes the breaker out of the way: every call runs, nothing trips, metrics are still
   * recorded. `forceClose()` or `reset()` turns it back on; `forceOpen()` isolates it.
   */
  disable(): void {
    if (this.current === DISABLED) return;
    const from = this.current;
    this.current = DISABLED;
    this.forced = false;
    this.failureCount = this.successCount = this.probes = this.attempt = 0;
    this.newGeneration();
    this.cancelTimer();
    log(
      this.settings.logger,
      'warn',
      { breaker: this.name },
      `circuit breaker "${this.name}" disabled: every call passes through`,
    );
    this.announce(from, 'disabled');
  }

  /** Closes the breaker and clears its failure count; metrics are kept. */
  forceClose(): void {
    if (this.current !== CLOSED) {
      this.close('forced_close');
      return;
    }
    this.failureCount = 0;
    this.window?.clear();
  }

  /** Closes the breaker and clears its state and metrics, as if new. */
  reset(): void {
    if (this.current !== CLOSED) this.close('reset');
    this.failureCount = this.attempt = 0;
    this.successes = this.failures = this.rejections = this.ignored = 0;
    this.tallies = undefined;
    this.warnedFailOpen = false;
    this.newGeneration();
    this.countedFrom = this.generation;
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends BreakerEventName>(event: E, listener: Listener<BreakerEvents[E]>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `CircuitBreaker "${this.name}": on("${event}", listener) needs a function, got ${describeValue(listener)}`,
      );
    }
    if (this.events === NO_LISTENERS) {
      this.events = new Listeners((error, name) =>
        this.report(error, `a "${String(name)}" listener threw`),
      );
    }
    const events = this.events;
    const unsubscribe = events.on(event, listener);
    this.listenersChanged();
    return () => {
      unsubscribe();
      if (events === this.events) this.listenersChanged();
    };
  }

  /** Drops every listener, undelivered event and timer. The breaker still works; it reports nothing. */
  dispose(): void {
    this.events.clear();
    this.events = NO_LISTENERS;
    this.listenersChanged();
  }

  /** -1 to admit the call, or the ms until a probe may run (the caller is rejected). */
  private admit(): number {
    if (this.current === CLOSED || this.current === DISABLED) return -1;
    if (this.current === OPEN && this.forced) return Number.POSITIVE_INFINITY;
    const now = this.settings.clock.now();
    if (this.current === OPEN && now < this.until) return this.until - now;
    this.catchUp();
    // A listener of the transition may have moved the breaker on already.
    if (this.current !== HALF_OPEN) return this.admit();
    // A slot frees the moment a probe answers; the wait's end is only the worst case.
    if (this.probes >= this.settings.halfOpenMaxProbes) return 0;
    if (this.probes++ === 0) {
      this.until = now + this.settings.halfOpenMaxWait;
      this.armTimer();
    }
    return -1;
  }

  private rejectCall(retryAfter: number): Promise<unknown> {
    const state = this.countRejection(retryAfter);
    const fallback = this.settings.fallback;
    if (fallback.kind === 'fail_closed')
      return Promise.reject(circuitOpenError(this.name, state, retryAfter));
    return this.useFallback(fallback, state === 'open' ? 'open' : 'half_open_full', undefined);
  }

  private countRejection(retryAfter: number): RejectingState {
    this.rejections++;
    const state = this.current === OPEN ? 'open' : 'half_open';
    if (this.events.has('rejected')) {
      const reason = state === 'open' ? 'open' : 'half_open_full';
      this.events.emit('rejected', { breaker: this.name, reason, retryAfter });
    }
    return state;
  }

  /** @internal The fallback's answer to a counted failure, or undefined to pass the error on. */
  recover(generation: number, error: unknown): Promise<unknown> | undefined {
    const fallback = this.settings.fallback;
    if (!this.settings.fallbackOnFailure || fallback.kind === 'fail_closed') return undefined;
    return this.useFallback(fallback, 'failure', error, generation >= this.countedFrom);
  }

  private useFallback(
    fallback: Exclude<FallbackBehavior<T>, { kind: 'fail_closed' }>,
    reason: FallbackReason,
    error: unknown,
    counted = true,
  ): Promise<unknown> {
    if (counted) this.tally().fallbacks++;
    const info =
      error === undefined ? { breaker: this.name, reason } : { breaker: this.name, reason, error };
    if (this.events.has('fallback')) this.events.emit('fallback', info);
    if (fallback.kind === 'fail_open' && !this.warnedFailOpen) {
      this.warnedFailOpen = true;
      const message = `circuit breaker "${this.name}" is failing open: callers get synthetic results`;
      // Failing open lets unchecked work through: worth a console line when there is no logger.
      if (this.settings.logger === undefined) console.warn(message);
      else log(this.settings.logger, 'warn', { breaker: this.name, reason }, message);
    }
    try {
      return Promise.resolve(fallback.handler(info));
    } catch (fallbackError) {
      return Promise.reject(fallbackError);
    }
  }

  /** @internal */
  recordSuccess(generation: number, startedAt: number): void {
    this.expireProbe(generation);
    if (generation >= this.countedFrom) this.successes++;
    if (this.events.has('success'))
      this.events.emit('success', { breaker: this.name, ...this.duration(startedAt) });
    if (generation !== this.generation) return;
    if (this.current === CLOSED) {
      this.failureCount = 0;
      if (this.window !== undefined) this.recordInWindow(false, startedAt);
    } else if (this.current === HALF_OPEN) {
      this.probeDone();
      // A slow answer is no sign of recovery: the rule that can open on slowness judges probes too.
      if (this.isSlow(startedAt, this.settings.clock.now())) this.open('probe_slow', false);
      else if (++this.successCount >= this.settings.successThreshold)
        this.close('probes_succeeded');
    }
  }

  /** @internal Returns true when the error counted as a failure. */
  recordFailure(
    generation: number,
    error: unknown,
    startedAt: number,
    cancelled: boolean,
  ): boolean {
    this.expireProbe(generation);
    const counted = !cancelled && this.counts(error);
    const event = counted ? 'failure' : 'ignored';
    if (this.events.has(event)) {
      const category = cancelled ? 'cancelled' : this.categoryOf(error);
      this.events.emit(event, { breaker: this.name, error, category, ...this.duration(startedAt) });
    }
    const since = generation >= this.countedFrom;
    if (!counted) {
      if (since) this.ignored++;
      if (generation === this.generation && this.current === HALF_OPEN) this.probeDone();
      return false;
    }
    if (since) this.failures++;
    if (generation !== this.generation) return true;
    if (this.current === HALF_OPEN) this.open('probe_failed', false, error);
    else if (this.current === CLOSED) {
      if (++this.failureCount >= this.settings.failureThreshold) {
        this.open('failure_threshold', false, error);
      } else if (this.window !== undefined) {
        this.recordInWindow(true, startedAt, error);
      }
    }
    return true;
  }

  /**
   * Adds a closed-state call to the rate window, and opens the breaker if a rate is over its
   * threshold; `error` is the failure, for its Retry-After.
   */
  private recordInWindow(failed: boolean, startedAt: number, error?: unknown): void {
    const window = this.window as CallWindow;
    const rule = this.settings.window as NonNullable<Settings<T>['window']>;
    // A count window on the fast path needs no time at all.
    const now = startedAt >= 0 || rule.timed ? this.settings.clock.now() : 0;
    window.record(failed, this.isSlow(startedAt, now), now);
    if (window.calls < rule.minimumCalls) return;
    // Divided, not multiplied: 0.55 * 100 is 55.00000000000001, and 55 of 100 must trip.
    if (window.failures / window.calls >= rule.failureRateThreshold) {
      this.open('failure_rate', false, error);
    } else if (window.slowCalls / window.calls >= rule.slowCallRateThreshold) {
      this.open('slow_call_rate', false, error);
    }
  }

  /** A probe's result after its half-open period ran out is late: the period ends first. */
  private expireProbe(generation: number): void {
    if (generation === this.generation && this.current === HALF_OPEN) this.catchUp();
  }

  /**
   * Frees a probe slot. With none left in flight nothing is waited on; otherwise the others get
   * the whole wait from now: an answer shows the backend is not hung, and a probe that is hung
   * holds one slot only, so the other slots' results still decide.
   */
  private probeDone(): void {
    this.until =
      --this.probes > 0
        ? this.settings.clock.now() + this.settings.halfOpenMaxWait
        : Number.POSITIVE_INFINITY;
    this.armTimer();
  }

  /** True for a call that took at least the slow-call rule's `slowCallDuration`; calls without a start time are not judged. */
  private isSlow(startedAt: number, now: number): boolean {
    const rule = this.settings.window;
    return rule !== undefined && startedAt >= 0 && now - startedAt >= rule.slowCallDuration;
  }

  /** @internal */
  recordTimeout(generation: number, timeoutMs: number): void {
    if (generation >= this.countedFrom) this.tally().timeouts++;
    if (this.events.has('timeout')) this.events.emit('timeout', { breaker: this.name, timeoutMs });
  }

  /** The failure policy's verdict; a policy that throws counts the error (the safe side). */
  private counts(error: unknown): boolean {
    try {
      return this.settings.failurePolicy.isFailure(error);
    } catch (policyError) {
      this.report(policyError, 'the failure policy threw; the error counts as a failure');
      return true;
    }
  }

  /** The error's category for a listener; its getters are user code, so a throw is reported, not raised. */
  private categoryOf(error: unknown): ErrorCategory {
    try {
      return classifyError(error);
    } catch (readError) {
      this.report(readError, "reading the failure's category threw; it is reported as 'other'");
      return 'other';
    }
  }

  private duration(startedAt: number): { durationMs?: number } {
    return startedAt < 0 ? {} : { durationMs: this.settings.clock.now() - startedAt };
  }

  /** `error` is the failure that opened it, whose Retry-After may stretch the open period. */
  private open(reason: TransitionReason, forced: boolean, error?: unknown): void {
    if (this.settings.observe && !forced) {
      this.wouldOpen(reason);
      return;
    }
    const now = this.settings.clock.now();
    const from = this.current;
    const asked = this.settings.honorRetryAfter ? this.retryAfter(error, now) : 0;
    if (!forced) this.attempt++;
    let period = forced
      ? Number.POSITIVE_INFINITY
      : openPeriod(this.settings, this.attempt, (e, m) => this.report(e, m));
    period = Math.max(period, asked);
    this.current = OPEN;
    this.forced = forced;
    this.openedAt = now;
    this.until = now + period;
    this.failureCount = this.successCount = this.probes = 0;
    this.tally().opened++;
    this.newGeneration();
    this.tellOpened(from, reason);
    this.armTimer();
  }

  /** Logs and announces an opening already counted. */
  private tellOpened(from: State, reason: TransitionReason): void {
    log(
      this.settings.logger,
      'warn',
      { breaker: this.name, reason, attempt: this.attempt, until: this.until },
      `circuit breaker "${this.name}" opened`,
    );
    this.announce(from, reason);
  }

  /** What the failure asks for; its getters are user code, so a throw is reported, not raised. */
  private retryAfter(error: unknown, now: number): number {
    if (error === undefined) return 0;
    try {
      return retryAfterOf(error, now) ?? 0;
    } catch (readError) {
      this.report(readError, 'reading Retry-After from the failure threw; it is ignored');
      return 0;
    }
  }

  /** Observe mode: what would have opened the breaker is reported, and counting starts over. */
  private wouldOpen(reason: TransitionReason): void {
    this.tally().wouldOpen++;
    this.failureCount = 0;
    this.window?.clear();
    log(
      this.settings.logger,
      'info',
      { breaker: this.name, reason },
      `circuit breaker "${this.name}" would have opened (observe mode)`,
    );
    if (this.events.has('wouldOpen')) this.events.emit('wouldOpen', { breaker: this.name, reason });
  }

  private halfOpen(): void {
    this.current = HALF_OPEN;
    this.successCount = this.probes = 0;
    const ended = this.until;
    this.until = Number.POSITIVE_INFINITY;
    this.newGeneration();
    this.cancelTimer();
    this.announce(OPEN, 'open_elapsed', ended);
  }

  private close(reason: TransitionReason): void {
    const from = this.current;
    this.current = CLOSED;
    this.forced = false;
    this.failureCount = this.successCount = this.probes = this.attempt = 0;
    this.tally().closed++;
    this.newGeneration();
    this.cancelTimer();
    log(
      this.settings.logger,
      'info',
      { breaker: this.name, reason },
      `circuit breaker "${this.name}" closed`,
    );
    this.announce(from, reason);
  }

  /**
   * Tells listeners of the transition just made: stateChange, then the new state's own event.
   * Both are posted before either is delivered, so a listener that moves the breaker on has its
   * transition told after this one, and every counted opening and closing is told.
   */
  private announce(from: State, reason: TransitionReason, at = this.settings.clock.now()): void {
    const events = this.events;
    const to = this.current;
    const counts = this.tally().transitions;
    const index = from * STATE_NAMES.length + to;
    counts[index] = (counts[index] ?? 0) + 1;
    this.last = {
      from: STATE_NAMES[from] as StateName,
      to: STATE_NAMES[to] as StateName,
      reason,
      at,
    };
    if (events.has('stateChange')) {
      events.post('stateChange', {
        breaker: this.name,
        from: STATE_NAMES[from] as StateName,
        to: STATE_NAMES[to] as StateName,
        reason,
      });
    }
    if (to === OPEN && events.has('open')) {
      events.post('open', {
        breaker: this.name,
        reason,
        openedAt: this.openedAt,
        until: this.until,
        attempt: this.attempt,
      });
    } else if (to === CLOSED && events.has('close')) {
      events.post('close', { breaker: this.name, reason });
    } else if (to === HALF_OPEN && events.has('halfOpen')) {
      events.post('halfOpen', { breaker: this.name });
    }
    events.flush();
  }

  private newGeneration(): void {
    const generation = ++this.generation;
    // Each closed period starts with an empty window: what tripped it is history.
    this.window?.clear();
    this.onFulfilled = () => {
      // The common case in one place: no listeners, no window, still closed, same generation.
      if (
        this.plain &&
        this.window === undefined &&
        this.current === CLOSED &&
        generation === this.generation
      ) {
        this.successes++;
        this.failureCount = 0;
      } else {
        this.recordSuccess(generation, -1);
      }
    };
    this.onRejected = (error) => {
      this.recordFailure(generation, error, -1, false);
    };
    const onFulfilled = this.onFulfilled;
    this.onTryFulfilled = (value) => {
      onFulfilled();
      return succeeded(value);
    };
    this.onTryRejected = (error) => failed(error, this.recordFailure(generation, error, -1, false));
  }

  /**
   * Makes the state true to the clock: an open period that has passed becomes half-open, and
   * a half-open period whose probes have not decided within `halfOpenMaxWait` opens again.
   */
  private catchUp(): void {
    if (!this.timed() || this.settings.clock.now() < this.until) return;
    if (this.current === OPEN) this.halfOpen();
    else this.open('half_open_timeout', false);
  }

  /** True while the state ends by itself at `until`. */
  private timed(): boolean {
    return (
      (this.current === OPEN || this.current === HALF_OPEN) &&
      this.until !== Number.POSITIVE_INFINITY
    );
  }

  /** True when calls need no start time, timer or signal: the fast path is enough. */
  private needsNoTracking(): boolean {
    return (
      this.settings.timeout === 0 &&
      !this.settings.fallbackOnFailure &&
      // Slow calls are measured from each call's start.
      (this.settings.window?.slowCallDuration ?? Number.POSITIVE_INFINITY) ===
        Number.POSITIVE_INFINITY &&
      !CALL_EVENTS.some((e) => this.events.has(e))
    );
  }

  private listenersChanged(): void {
    this.plain = this.needsNoTracking();
    this.clocked = CLOCK_EVENTS.some((e) => this.events.has(e));
    this.armTimer();
  }

  /** (Re)starts the timer for the next timed transition, if one is due and someone listens. */
  private armTimer(): void {
    this.cancelTimer();
    if (!this.timed() || !this.clocked) return;
    const delay = Math.max(0, this.until - this.settings.clock.now());
    this.timer = startBackgroundTimer(this.settings.clock, () => this.onTimer(), delay);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.catchUp();
    // Timers may fire before the clock agrees the moment has come (or were capped): re-arm.
    this.armTimer();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    stopTimer(this.settings.clock, this.timer);
    this.timer = undefined;
  }

  private tally(): Tallies {
    this.tallies ??= new Tallies();
    return this.tallies;
  }

  /** @internal A user callback or a failure's getter misbehaved: say so, never hide it. */
  report(error: unknown, message: string): void {
    reportProblem(this.settings.logger, this.name, error, message);
  }
}
