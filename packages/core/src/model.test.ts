import { CircuitBreaker, CircuitOpenError, ManualClock } from '@breakwater/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectionRefused, deferred } from '../test/helpers.js';

/**
 * The specification: a reference model of the breaker's state machine, kept short enough to
 * read at a glance. Random command sequences run against it and the real breaker (on a
 * ManualClock) side by side, and after every command both must agree.
 */
interface Config {
  failureThreshold: number;
  successThreshold: number;
  halfOpenMaxProbes: number;
  openDuration: number;
  halfOpenMaxWait: number;
  timeout: number | undefined;
}

type Name = 'closed' | 'open' | 'half_open' | 'disabled';

class Model {
  state: Name = 'closed';
  now = 0;
  failures = 0;
  successes = 0;
  probes = 0;
  until = 0;
  forced = false;
  generation = 0;
  /**
   * Since when probes have held half-open slots undecided: the first admission with none in
   * flight, or the last result while others stay in flight; -1 while none is in flight.
   */
  waitingSince = -1;
  /** Calls admitted before the last reset (an earlier generation) are not counted. */
  countedFrom = 0;
  m = { ok: 0, failed: 0, rejected: 0, ignored: 0, timeouts: 0, opened: 0, closed: 0 };
  /** What a stateChange listener does when told of an opening, before anything else happens. */
  onOpened: () => void = () => {};

  constructor(readonly config: Config) {}

  /** When the half-open period runs out, or Infinity while no probe is in flight. */
  get halfOpenDue(): number {
    return this.state === 'half_open' && this.waitingSince >= 0
      ? this.waitingSince + this.config.halfOpenMaxWait
      : Number.POSITIVE_INFINITY;
  }

  /**
   * Lazily, on admission, on a probe's result or when asked (or by the timer, with listeners):
   * an open period that has passed is half-open; undecided probes past the wait re-open it.
   */
  catchUp(): void {
    if (this.state === 'open' && !this.forced && this.now >= this.until) {
      this.enter('half_open');
      this.successes = this.probes = 0;
      this.waitingSince = -1;
    } else if (this.now >= this.halfOpenDue) {
      this.open(false);
    }
  }

  /** A current probe's result is looked at after the half-open period's own deadline. */
  expire(generation: number): void {
    if (generation === this.generation && this.state === 'half_open') this.catchUp();
  }

  probeDone(): void {
    this.waitingSince = --this.probes === 0 ? -1 : this.now;
  }

  /** Admits a call (returning its generation) or rejects it (undefined). */
  admit(): number | undefined {
    this.catchUp();
    if (
      this.state === 'open' ||
      (this.state === 'half_open' && this.probes >= this.config.halfOpenMaxProbes)
    ) {
      this.m.rejected++;
      return undefined;
    }
    if (this.state === 'half_open' && this.probes++ === 0) this.waitingSince = this.now;
    return this.generation;
  }

  succeed(generation: number): void {
    this.expire(generation);
    if (generation >= this.countedFrom) this.m.ok++;
    if (generation !== this.generation) return;
    if (this.state === 'closed') this.failures = 0;
    if (this.state !== 'half_open') return;
    this.probeDone();
    if (++this.successes >= this.config.successThreshold) this.close();
  }

  fail(generation: number, counted: boolean): void {
    this.expire(generation);
    const since = generation >= this.countedFrom;
    if (!counted) {
      if (since) this.m.ignored++;
      if (generation === this.generation && this.state === 'half_open') this.probeDone();
      return;
    }
    if (since) this.m.failed++;
    if (generation !== this.generation) return;
    if (this.state === 'half_open') this.open(false);
    else if (this.state === 'closed' && ++this.failures >= this.config.failureThreshold)
      this.open(false);
  }

  open(forced: boolean): void {
    if (forced && this.state === 'open') {
      // Held open already: nothing changes. A timed open becoming held open is an opening.
      if (this.forced) return;
      this.forced = true;
      this.until = Number.POSITIVE_INFINITY;
      this.m.opened++;
      this.onOpened();
      return;
    }
    this.enter('open');
    this.forced = forced;
    this.until = forced ? Number.POSITIVE_INFINITY : this.now + this.config.openDuration;
    this.failures = this.successes = this.probes = 0;
    this.m.opened++;
    this.onOpened();
  }

  close(): void {
    this.enter('closed');
    this.forced = false;
    this.failures = this.successes = this.probes = 0;
    this.m.closed++;
  }

  disable(): void {
    if (this.state === 'disabled') return;
    this.enter('disabled');
    this.forced = false;
    this.failures = this.successes = this.probes = 0;
  }

  enter(state: Name): void {
    this.state = state;
    this.generation++;
  }
}

type Command =
  | { kind: 'start'; withSignal: boolean }
  | { kind: 'settle'; pick: number; outcome: 'ok' | 'fail' | 'ignored' }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'forceOpen' | 'forceClose' | 'reset' | 'disable' };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('start' as const), withSignal: fc.boolean() }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('ok' as const, 'fail' as const, 'ignored' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 150 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'forceOpen' as const,
        'forceClose' as const,
        'reset' as const,
        'disable' as const,
      ),
    }),
  },
);

// The wait is never shorter than the timeout (the options refuse that); often just as long.
const config: fc.Arbitrary<Config> = fc
  .record({
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    successThreshold: fc.integer({ min: 1, max: 3 }),
    halfOpenMaxProbes: fc.integer({ min: 1, max: 3 }),
    openDuration: fc.integer({ min: 10, max: 100 }),
    waitBeyondTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 280 })),
    timeout: fc.option(fc.integer({ min: 20, max: 200 }), { nil: undefined }),
  })
  .map(({ waitBeyondTimeout, ...rest }) => ({
    ...rest,
    halfOpenMaxWait: (rest.timeout ?? 20) + waitBeyondTimeout,
  }));

/** A call in flight: its settle handle, its generation in the model, when it times out. */
interface Pending {
  settle: ReturnType<typeof deferred<string>>;
  abort: AbortController | undefined;
  generation: number;
  deadline: number;
  /** What the call resolves or rejects to. */
  result: Promise<unknown>;
}

/** How calls go through the breaker: tryExecute's results carry the verdict (`counted`) too. */
type Via = 'execute' | 'tryExecute';

const settleReactions = async () => {
  for (let i = 0; i < 8; i++) await null;
};

/** `open` and `close` events since the last reset: each must stand for a counted transition. */
interface Heard {
  open: number;
  close: number;
}

/**
 * `listen` adds open and close listeners (and so the timer); `reenter` adds a stateChange listener
 * that closes the breaker again on every second opening, from inside the transition.
 */
async function run(
  via: Via,
  cfg: Config,
  listen: boolean,
  reenter: boolean,
  commands: Command[],
): Promise<void> {
  const clock = new ManualClock(0);
  const breaker = new CircuitBreaker({ ...cfg, clock });
  const model = new Model(cfg);
  const heard: Heard | undefined = listen ? { open: 0, close: 0 } : undefined;
  if (heard !== undefined) {
    breaker.on('open', () => heard.open++);
    breaker.on('close', () => heard.close++);
  }
  if (listen && reenter) {
    let openings = 0;
    breaker.on('stateChange', ({ to }) => {
      if (to === 'open' && ++openings % 2 === 0) breaker.forceClose();
    });
    let modelOpenings = 0;
    model.onOpened = () => {
      if (++modelOpenings % 2 === 0) model.close();
    };
  }
  const pending: Pending[] = [];
  const ignoredError = () => new Error('not a failure the default policy counts');
  /** tryExecute's results owed since the last command: each must be what the model says of it. */
  const owed: { result: Promise<unknown>; want: Record<string, unknown> }[] = [];
  // `counted` is the failure policy's verdict, whatever the breaker could do with it.
  const owe = (call: Pending, want: Record<string, unknown>) => {
    if (via === 'tryExecute') owed.push({ result: call.result, want });
  };

  for (const c of commands) {
    switch (c.kind) {
      case 'start': {
        const settle = deferred<string>();
        const abort = c.withSignal ? new AbortController() : undefined;
        let ran = false;
        const op = () => {
          ran = true;
          return settle.promise;
        };
        const call =
          via === 'execute'
            ? breaker.execute(op, abort?.signal)
            : breaker.tryExecute(op, abort?.signal);
        call.catch(() => {});
        const generation = model.admit();
        if (generation === undefined) {
          if (via === 'execute') await expect(call).rejects.toBeInstanceOf(CircuitOpenError);
          else expect(await call).toMatchObject({ ok: false, rejected: true });
          expect(ran).toBe(false);
        } else {
          expect(ran).toBe(true);
          const deadline =
            cfg.timeout === undefined ? Number.POSITIVE_INFINITY : model.now + cfg.timeout;
          pending.push({ settle, abort, generation, deadline, result: call });
        }
        break;
      }
      case 'settle': {
        const [call] = pending.splice(c.pick % Math.max(1, pending.length), 1);
        if (call === undefined) break;
        if (c.outcome === 'ok') {
          call.settle.resolve('ok');
          owe(call, { ok: true, value: 'ok' });
          model.succeed(call.generation);
        } else {
          call.settle.reject(c.outcome === 'fail' ? connectionRefused() : ignoredError());
          owe(call, { ok: false, rejected: false, counted: c.outcome === 'fail' });
          model.fail(call.generation, c.outcome === 'fail');
        }
        break;
      }
      case 'abort': {
        const at = pending.findIndex((p) => p.abort !== undefined);
        if (at < 0) break;
        const [call] = pending.splice(at, 1) as [Pending];
        call.abort?.abort(new Error('caller gave up'));
        owe(call, { ok: false, rejected: false, counted: false });
        model.fail(call.generation, false);
        break;
      }
      case 'advance': {
        // Timeouts fire in deadline order, each at its own moment. With listeners, so does the
        // half-open timer, which was armed before its probe's timeout and so fires first on a tie.
        const target = model.now + c.ms;
        const halfOpenTimer = (upTo: number) => {
          if (!listen || model.halfOpenDue > upTo) return;
          model.now = model.halfOpenDue;
          model.catchUp();
        };
        for (const call of [...pending].sort((a, b) => a.deadline - b.deadline)) {
          halfOpenTimer(Math.min(call.deadline, target));
          if (call.deadline > target) break;
          pending.splice(pending.indexOf(call), 1);
          model.now = call.deadline;
          if (call.generation >= model.countedFrom) model.m.timeouts++;
          owe(call, { ok: false, rejected: false, counted: true });
          model.fail(call.generation, true);
        }
        halfOpenTimer(target);
        model.now = target;
        clock.advance(c.ms);
        break;
      }
      case 'forceOpen':
        breaker.forceOpen();
        model.catchUp();
        model.open(true);
        break;
      case 'forceClose':
        breaker.forceClose();
        if (model.state === 'closed') model.failures = 0;
        else model.close();
        break;
      case 'reset':
        breaker.reset();
        if (model.state !== 'closed') model.close();
        model.failures = 0;
        model.countedFrom = ++model.generation;
        model.m = { ok: 0, failed: 0, rejected: 0, ignored: 0, timeouts: 0, opened: 0, closed: 0 };
        if (heard !== undefined) heard.open = heard.close = 0;
        break;
      case 'disable':
        breaker.disable();
        model.disable();
        break;
    }
    await settleReactions();
    compare(breaker, model, heard);
    for (const { result, want } of owed.splice(0)) expect(await result).toMatchObject(want);
  }
}

function compare(breaker: CircuitBreaker<unknown>, model: Model, heard: Heard | undefined): void {
  model.catchUp();
  const state = breaker.state();
  const expected =
    model.state === 'closed'
      ? { name: 'closed', failureCount: model.failures }
      : model.state === 'open'
        ? { name: 'open', until: model.until, forced: model.forced }
        : model.state === 'half_open'
          ? { name: 'half_open', successCount: model.successes, probeCount: model.probes }
          : { name: 'disabled' };
  expect(state).toMatchObject(expected);
  expect(breaker.metrics()).toMatchObject({
    successfulRequests: model.m.ok,
    failedRequests: model.m.failed,
    rejectedRequests: model.m.rejected,
    ignoredErrors: model.m.ignored,
    timeouts: model.m.timeouts,
    timesOpened: model.m.opened,
    timesClosed: model.m.closed,
  });
  if (heard !== undefined) {
    expect(heard.open).toBe(model.m.opened);
    expect(heard.close).toBe(model.m.closed);
  }
}

/**
 * Opens the breaker and lets its open period pass: half the runs start half-open, where overlapping
 * probes are otherwise rare, and so are the orders of their results that only a model finds wrong.
 */
function tripped(cfg: Config): Command[] {
  const fail: Command[] = [
    { kind: 'start', withSignal: false },
    { kind: 'settle', pick: 0, outcome: 'fail' },
  ];
  return [
    ...Array.from({ length: cfg.failureThreshold }, () => fail).flat(),
    { kind: 'advance', ms: cfg.openDuration },
  ];
}

describe('the breaker against its reference model', () => {
  // tryExecute shares the state machine but builds its results on paths of its own: fewer runs
  // still walk every one of them, the verdict included.
  for (const [via, numRuns] of [
    ['execute', 2_000],
    ['tryExecute', 500],
  ] as const) {
    it(`agrees after every command of random sequences through ${via}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          config,
          fc.boolean(),
          fc.boolean(),
          fc.boolean(),
          fc.array(command, { maxLength: 60, size: 'max' }),
          (cfg, listen, reenter, fromHalfOpen, commands) =>
            run(
              via,
              cfg,
              listen,
              reenter,
              fromHalfOpen ? [...tripped(cfg), ...commands] : commands,
            ),
        ),
        { numRuns, seed: 20261123 },
      );
    }, 120_000);
  }
});
