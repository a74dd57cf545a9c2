// Regression tests for callbacks that misbehave or re-enter the breaker: listeners,
// failure policies, loggers and openDuration functions are user code.
import {
  CircuitBreaker,
  type CircuitOpenError,
  type FailurePolicy,
  FallbackBehavior,
  MAX_TIMER_MS,
  ManualClock,
} from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { connectionRefused, failOnce, onClock, succeedOnce } from '../test/helpers.js';
import { type CallRecorder, TrackedCall } from './call.js';
import { succeeded, VerdictRecorder } from './try-result.js';

const quietLogger = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

describe('listeners that move the breaker during a transition', () => {
  it('a halfOpen listener that forces the breaker open: the pending call is rejected, not run', async () => {
    // A clock without timers, so the transition happens inside the next call's admission.
    let now = 1_000;
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      openDuration: 100,
      clock: { now: () => now },
    });
    await failOnce(breaker);
    breaker.on('halfOpen', () => breaker.forceOpen());
    now += 100;
    const op = vi.fn(async () => 'ran');
    await expect(breaker.execute(op)).rejects.toMatchObject({
      state: 'open',
      retryAfter: Number.POSITIVE_INFINITY,
    });
    expect(op).not.toHaveBeenCalled();
    expect(breaker.state()).toMatchObject({ name: 'open', forced: true });
    breaker.dispose();
  });

  it('a stateChange listener that re-opens a closing breaker: both transitions are told, in order', async () => {
    const { clock, options } = onClock({
      failureThreshold: 1,
      openDuration: 100,
      successThreshold: 1,
    });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    clock.advance(100);
    expect(breaker.state().name).toBe('half_open');
    const seen: string[] = [];
    breaker.on('stateChange', ({ to }) => {
      seen.push(`stateChange:${to}`);
      if (to === 'closed') breaker.forceOpen();
    });
    breaker.on('close', () => seen.push('close'));
    breaker.on('open', ({ reason }) => seen.push(`open:${reason}`));
    await succeedOnce(breaker);
    // The listener's forceOpen() is told after the close it reacted to, never in the middle of it.
    expect(seen).toEqual(['stateChange:closed', 'close', 'stateChange:open', 'open:forced_open']);
    expect(breaker.state()).toMatchObject({ name: 'open', forced: true });
    expect(breaker.metrics()).toMatchObject({ timesOpened: 2, timesClosed: 1 });
  });

  it('a stateChange listener that closes an opening breaker: the open is told and counted once', async () => {
    const { options } = onClock({ failureThreshold: 1 });
    const breaker = new CircuitBreaker(options);
    const seen: string[] = [];
    breaker.on('stateChange', ({ from, to }) => {
      seen.push(`stateChange:${from}->${to}`);
      if (to === 'open') breaker.forceClose();
    });
    breaker.on('open', ({ reason, attempt }) => seen.push(`open:${reason}:${attempt}`));
    breaker.on('close', ({ reason }) => seen.push(`close:${reason}`));
    await failOnce(breaker);
    expect(seen).toEqual([
      'stateChange:closed->open',
      'open:failure_threshold:1',
      'stateChange:open->closed',
      'close:forced_close',
    ]);
    expect(breaker.state().name).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ timesOpened: 1, timesClosed: 1 });
  });

  it('a stateChange listener that disposes the breaker: nothing more is told, not even the open', async () => {
    const { options } = onClock({ failureThreshold: 1 });
    const breaker = new CircuitBreaker(options);
    const seen: string[] = [];
    breaker.on('stateChange', ({ to }) => {
      seen.push(`stateChange:${to}`);
      breaker.dispose();
    });
    breaker.on('open', () => seen.push('open'));
    await failOnce(breaker);
    breaker.forceClose();
    expect(seen).toEqual(['stateChange:open']);
  });

  it('a rejected listener that forces the breaker open: event and error agree', async () => {
    const { clock, options } = onClock({ failureThreshold: 1, openDuration: 100 });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    clock.advance(100);
    const hanging = breaker.execute(() => new Promise<never>(() => {}));
    const reasons: string[] = [];
    breaker.on('rejected', ({ reason }) => {
      reasons.push(reason);
      breaker.forceOpen();
    });
    const error = (await breaker
      .execute(async () => 1)
      .catch((e: unknown) => e)) as CircuitOpenError;
    expect(reasons).toEqual(['half_open_full']);
    expect(error.state).toBe('half_open');
    void hanging;
  });

  it('forceOpen on a breaker already open tells open listeners it is now forced', async () => {
    const { options } = onClock({ failureThreshold: 1 });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    const opened = vi.fn();
    breaker.on('open', opened);
    breaker.forceOpen();
    expect(opened).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'forced_open', until: Number.POSITIVE_INFINITY }),
    );
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({
      retryAfter: Number.POSITIVE_INFINITY,
    });
  });
});

describe('callbacks that throw', () => {
  it('a failure policy that throws counts the error and is reported; the breaker stays consistent', async () => {
    const logger = quietLogger();
    const { clock, options } = onClock({
      failureThreshold: 1,
      openDuration: 100,
      logger,
      failurePolicy: () => {
        throw new Error('policy bug');
      },
    });
    const breaker = new CircuitBreaker(options);
    const error = new Error('op failed');
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.state().name).toBe('open');
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.objectContaining({ message: 'policy bug' }) }),
      'the failure policy threw; the error counts as a failure',
    );
    // In half-open too: the probe slot is freed by the re-open, not leaked.
    clock.advance(100);
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.state().name).toBe('open');
  });

  it('a logger that throws breaks neither the transition nor the call', async () => {
    const throwing = () => {
      throw new Error('logger down');
    };
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { clock, options } = onClock({
      failureThreshold: 1,
      openDuration: 100,
      successThreshold: 1,
      logger: { info: throwing, warn: throwing, error: throwing },
    });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    expect(breaker.state()).toMatchObject({ name: 'open', until: clock.now() + 100 });
    clock.advance(100);
    await succeedOnce(breaker);
    expect(breaker.state().name).toBe('closed');
    expect(consoleError).toHaveBeenCalledWith(
      expect.stringContaining('the logger threw'),
      expect.any(Error),
    );
    consoleError.mockRestore();
  });

  it('an openDuration function that throws is reported and the breaker opens for the default', async () => {
    const logger = quietLogger();
    const { clock, options } = onClock({
      failureThreshold: 1,
      logger,
      openDuration: () => {
        throw new Error('backoff bug');
      },
    });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    expect(breaker.state()).toMatchObject({ name: 'open', until: clock.now() + 30_000 });
    expect(breaker.metrics().timesOpened).toBe(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
  });

  it('a fail-open breaker with no logger warns on the console, once, and again after reset', async () => {
    const consoleWarn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      fallback: FallbackBehavior.failOpen(() => 'synthetic'),
    });
    await failOnce(breaker);
    await breaker.execute(async () => 'x');
    await breaker.execute(async () => 'x');
    expect(consoleWarn).toHaveBeenCalledTimes(1);
    expect(consoleWarn.mock.calls[0]?.[0]).toMatch(/failing open/);
    breaker.reset();
    await failOnce(breaker);
    await breaker.execute(async () => 'x');
    expect(consoleWarn).toHaveBeenCalledTimes(2);
    consoleWarn.mockRestore();
  });
});

describe('limits', () => {
  it('caps timers at the longest delay setTimeout honours and re-arms, instead of firing at once', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 30 * 24 * 3_600_000 });
    const halfOpen = vi.fn();
    breaker.on('halfOpen', halfOpen);
    await failOnce(breaker);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(halfOpen).not.toHaveBeenCalled();
    expect(breaker.state().name).toBe('open');
    breaker.dispose();
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });

  it('fractional jitter never adds more than its whole milliseconds', async () => {
    const { clock, options } = onClock({ failureThreshold: 1, openDuration: 1_000, jitter: 0.5 });
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 50; i++) {
      await failOnce(breaker);
      expect(breaker.state()).toMatchObject({ until: clock.now() + 1_000 });
      breaker.forceClose();
    }
  });

  it('a FailurePolicy from another copy of the package (CJS next to ESM) is accepted by shape', async () => {
    const foreign = { isFailure: (error: unknown) => error instanceof RangeError };
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      failurePolicy: foreign as unknown as FailurePolicy,
    });
    await expect(breaker.execute(() => Promise.reject(connectionRefused()))).rejects.toThrow();
    expect(breaker.state().name).toBe('closed');
    await expect(breaker.execute(() => Promise.reject(new RangeError('r')))).rejects.toThrow();
    expect(breaker.state().name).toBe('open');
  });
});

/** An error whose `category` getter throws, as a Proxy or a careless class can. */
function hostile(): Error {
  return new Proxy(new Error('hostile'), {
    get(target, key) {
      if (key === 'category') throw new Error('getter threw');
      return Reflect.get(target, key);
    },
  });
}

/** What a promise has done after a few macrotasks: a hung call reads 'pending'. */
function outcome(promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([
    promise.then(
      (value) => ({ resolved: value }),
      (error: unknown) => ({ rejected: error }),
    ),
    new Promise((resolve) => setTimeout(() => resolve('pending'), 20)),
  ]);
}

describe('an error whose properties throw when read, with a failure or ignored listener', () => {
  // Counted by identity, so the policy reads nothing: only the listener's category reads the getter.
  for (const event of ['failure', 'ignored'] as const) {
    for (const path of ['fast', 'tracked'] as const) {
      it(`${event}, ${path} path: execute rejects and tryExecute resolves with the error; the read is reported`, async () => {
        const logger = quietLogger();
        const error = hostile();
        const { options } = onClock({
          logger,
          failurePolicy: (e: unknown) => event === 'failure' && e === error,
          ...(path === 'tracked' ? { timeout: 200 } : {}),
        });
        const breaker = new CircuitBreaker(options);
        const categories: string[] = [];
        const listen = () => breaker.on(event, ({ category }) => categories.push(category));
        // The fast path is taken when nothing listens at the call's start; a listener added in flight hears it.
        if (path === 'tracked') listen();
        let failExecuted!: (e: unknown) => void;
        let failTried!: (e: unknown) => void;
        const executed = breaker.execute(
          () =>
            new Promise<never>((_, reject) => {
              failExecuted = reject;
            }),
        );
        const tried = breaker.tryExecute(
          () =>
            new Promise<never>((_, reject) => {
              failTried = reject;
            }),
        );
        if (path === 'fast') listen();
        failExecuted(error);
        failTried(error);
        expect(await outcome(executed)).toEqual({ rejected: error });
        expect(await outcome(tried)).toEqual({
          resolved: { ok: false, rejected: false, error, counted: event === 'failure' },
        });
        expect(categories).toEqual(['other', 'other']);
        expect(logger.error).toHaveBeenCalledTimes(2);
        expect(logger.error).toHaveBeenCalledWith(
          { breaker: 'breaker', err: new Error('getter threw') },
          "reading the failure's category threw; it is reported as 'other'",
        );
        expect(breaker.metrics()).toMatchObject(
          event === 'failure' ? { failedRequests: 2 } : { ignoredErrors: 2 },
        );
        breaker.dispose();
      });
    }
  }
});

describe('a tracked call whose bookkeeping throws', () => {
  const bookkeeping = new Error('bookkeeping threw');
  /** A recorder whose every record throws; it keeps what it was asked to report. */
  function throwingRecorder(): CallRecorder & { reported: unknown[] } {
    const reported: unknown[] = [];
    const boom = (): never => {
      throw bookkeeping;
    };
    return {
      name: 'throwing',
      reported,
      recordSuccess: boom,
      recordFailure: boom,
      recordTimeout: () => {},
      recover: () => undefined,
      report: (error) => reported.push(error),
    };
  }
  const clock = () => new ManualClock(0);

  it('still settles with its own outcome: a success, a failure, a synchronous throw, an abort', async () => {
    const recorder = throwingRecorder();
    const failure = connectionRefused();
    const ok = new TrackedCall<string>(recorder, clock(), 1, undefined, 200).run(async () => 'ok');
    const failed = new TrackedCall<string>(recorder, clock(), 1, undefined, 200).run(() =>
      Promise.reject(failure),
    );
    const thrown = new TrackedCall<string>(recorder, clock(), 1, undefined, 0).run(() => {
      throw failure;
    });
    const controller = new AbortController();
    const aborted = new TrackedCall<string>(recorder, clock(), 1, controller.signal, 0).run(
      () => new Promise<never>(() => {}),
    );
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await outcome(ok)).toEqual({ resolved: 'ok' });
    expect(await outcome(failed)).toEqual({ rejected: failure });
    expect(await outcome(thrown)).toEqual({ rejected: failure });
    expect(await outcome(aborted)).toEqual({ rejected: reason });
    expect(recorder.reported).toEqual([bookkeeping, bookkeeping, bookkeeping, bookkeeping]);
  });

  it("tryExecute's verdict is counted when recording the failure threw (the safe side), not when aborted", async () => {
    const failure = connectionRefused();
    const failing = new VerdictRecorder(throwingRecorder());
    const failed = new TrackedCall<string>(failing, clock(), 1, undefined, 200)
      .run(() => Promise.reject(failure))
      .then(succeeded, failing.failed);
    expect(await failed).toEqual({ ok: false, rejected: false, error: failure, counted: true });
    const controller = new AbortController();
    const aborting = new VerdictRecorder(throwingRecorder());
    const aborted = new TrackedCall<string>(aborting, clock(), 1, controller.signal, 0)
      .run(() => new Promise<never>(() => {}))
      .then(succeeded, aborting.failed);
    controller.abort(failure);
    expect(await aborted).toEqual({ ok: false, rejected: false, error: failure, counted: false });
  });
});
