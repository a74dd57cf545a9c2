import { fileURLToPath } from 'node:url';
import { type BreakerEvents, CircuitBreaker, FallbackBehavior } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { runTypeScript } from '../../../scripts/run-typescript.js';
import { connectionRefused, failOnce, onClock, succeedOnce } from '../test/helpers.js';

function record(breaker: CircuitBreaker<unknown>, names: (keyof BreakerEvents)[]) {
  const seen: [string, unknown][] = [];
  for (const name of names) breaker.on(name, (payload) => seen.push([name, payload]));
  return seen;
}

describe('events', () => {
  it('report a full open -> half-open -> closed cycle in order, with reasons', async () => {
    const { clock, options } = onClock({
      name: 'db',
      failureThreshold: 1,
      openDuration: 1_000,
      successThreshold: 1,
    });
    const breaker = new CircuitBreaker(options);
    const seen = record(breaker, ['stateChange', 'open', 'halfOpen', 'close']);
    const openedAt = clock.now();
    await failOnce(breaker);
    clock.advance(1_000);
    await succeedOnce(breaker);
    expect(seen).toEqual([
      ['stateChange', { breaker: 'db', from: 'closed', to: 'open', reason: 'failure_threshold' }],
      [
        'open',
        {
          breaker: 'db',
          reason: 'failure_threshold',
          openedAt,
          until: openedAt + 1_000,
          attempt: 1,
        },
      ],
      ['stateChange', { breaker: 'db', from: 'open', to: 'half_open', reason: 'open_elapsed' }],
      ['halfOpen', { breaker: 'db' }],
      [
        'stateChange',
        { breaker: 'db', from: 'half_open', to: 'closed', reason: 'probes_succeeded' },
      ],
      ['close', { breaker: 'db', reason: 'probes_succeeded' }],
    ]);
  });

  it('report call outcomes with category and duration from the clock', async () => {
    const { clock, options } = onClock({ timeout: 500, failureThreshold: 10 });
    const breaker = new CircuitBreaker(options);
    const seen = record(breaker, ['success', 'failure', 'ignored', 'timeout']);
    await breaker.execute(async () => {
      clock.advance(30);
      return 1;
    });
    const refused = connectionRefused();
    await breaker.execute(() => Promise.reject(refused)).catch(() => undefined);
    const bad = new Error('bad input');
    await breaker.execute(() => Promise.reject(bad)).catch(() => undefined);
    const hanging = breaker.execute(() => new Promise<never>(() => {}));
    clock.advance(500);
    const timeoutError = await hanging.catch((e: unknown) => e);
    expect(seen).toEqual([
      ['success', { breaker: 'breaker', durationMs: 30 }],
      ['failure', { breaker: 'breaker', error: refused, category: 'connection', durationMs: 0 }],
      ['ignored', { breaker: 'breaker', error: bad, category: 'other', durationMs: 0 }],
      ['timeout', { breaker: 'breaker', timeoutMs: 500 }],
      [
        'failure',
        { breaker: 'breaker', error: timeoutError, category: 'timeout', durationMs: 500 },
      ],
    ]);
  });

  it('report rejections and fallbacks', async () => {
    const { clock, options } = onClock({
      failureThreshold: 1,
      openDuration: 1_000,
      fallback: FallbackBehavior.fallback(() => 'alt'),
    });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    const seen = record(breaker, ['rejected', 'fallback']);
    clock.advance(400);
    await breaker.execute(async () => 'x');
    expect(seen).toEqual([
      ['rejected', { breaker: 'breaker', reason: 'open', retryAfter: 600 }],
      ['fallback', { breaker: 'breaker', reason: 'open' }],
    ]);
  });

  it('the unsubscribe function stops delivery, once, and leaves other subscriptions alone', async () => {
    const breaker = new CircuitBreaker();
    const twice = vi.fn();
    const other = vi.fn();
    const off = breaker.on('success', twice);
    breaker.on('success', twice);
    breaker.on('success', other);
    await succeedOnce(breaker);
    off();
    off();
    await succeedOnce(breaker);
    expect(twice).toHaveBeenCalledTimes(3);
    expect(other).toHaveBeenCalledTimes(2);
  });

  it('an unsubscribe function from before dispose() cannot remove a later listener', async () => {
    const breaker = new CircuitBreaker();
    const listener = vi.fn();
    const off = breaker.on('success', listener);
    breaker.dispose();
    breaker.on('success', listener);
    off();
    await succeedOnce(breaker);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('a listener that throws never breaks a call or the transition, and is reported', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const breaker = new CircuitBreaker({ failureThreshold: 1, logger });
    breaker.on('failure', () => {
      throw new Error('listener bug');
    });
    const after = vi.fn();
    breaker.on('stateChange', after);
    await failOnce(breaker);
    expect(breaker.state().name).toBe('open');
    expect(after).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({
        breaker: 'breaker',
        err: expect.objectContaining({ message: 'listener bug' }),
      }),
      'a "failure" listener threw',
    );
  });

  it('rejects a non-function listener', () => {
    expect(() => new CircuitBreaker().on('open', 'x' as never)).toThrow(
      /on\("open", listener\) needs a function/,
    );
  });
});

describe('the half-open timer', () => {
  it('with a state listener, reports open -> half-open on time with no traffic', async () => {
    const { clock, options } = onClock({ failureThreshold: 1, openDuration: 1_000 });
    const breaker = new CircuitBreaker(options);
    const halfOpen = vi.fn();
    breaker.on('halfOpen', halfOpen);
    await failOnce(breaker);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(999);
    expect(halfOpen).not.toHaveBeenCalled();
    clock.advance(1);
    expect(halfOpen).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('is not armed without state listeners, and is cleared when they go or the breaker is disposed', async () => {
    const { clock, options } = onClock({ failureThreshold: 1, openDuration: 1_000 });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    expect(clock.pendingTimers).toBe(0);
    const off = breaker.on('stateChange', () => {});
    expect(clock.pendingTimers).toBe(1);
    off();
    expect(clock.pendingTimers).toBe(0);
    breaker.on('halfOpen', () => {});
    expect(clock.pendingTimers).toBe(1);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires on real time with the system clock', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 20 });
    const halfOpen = new Promise((resolve) => breaker.on('halfOpen', resolve));
    await failOnce(breaker);
    await expect(halfOpen).resolves.toEqual({ breaker: 'breaker' });
  });

  it('never keeps the process alive', () => {
    const fixture = fileURLToPath(new URL('../test/fixtures/open-breaker.ts', import.meta.url));
    const started = Date.now();
    const child = runTypeScript(fixture, 15_000);
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('open half_open');
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('logging', () => {
  it('warns on open and informs on close', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { clock, options } = onClock({
      name: 'spicedb',
      failureThreshold: 1,
      openDuration: 100,
      successThreshold: 1,
      logger,
    });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    expect(logger.warn).toHaveBeenCalledWith(
      { breaker: 'spicedb', reason: 'failure_threshold', attempt: 1, until: clock.now() + 100 },
      'circuit breaker "spicedb" opened',
    );
    clock.advance(100);
    await succeedOnce(breaker);
    expect(logger.info).toHaveBeenCalledWith(
      { breaker: 'spicedb', reason: 'probes_succeeded' },
      'circuit breaker "spicedb" closed',
    );
    expect(logger.error).not.toHaveBeenCalled();
  });
});

describe('events agree with transitions and metrics', () => {
  it('a second forceOpen() or isolate() on a breaker held open emits nothing', () => {
    const { options } = onClock();
    const breaker = new CircuitBreaker(options);
    const seen = record(breaker, ['stateChange', 'open', 'halfOpen', 'close']);
    breaker.forceOpen();
    breaker.forceOpen();
    breaker.isolate();
    expect(seen.map(([name]) => name)).toEqual(['stateChange', 'open']);
    expect(breaker.metrics().timesOpened).toBe(1);
  });

  it('a timed open becoming held open is one more open event, and one more in timesOpened', async () => {
    const { options } = onClock({ failureThreshold: 1, openDuration: 1_000 });
    const breaker = new CircuitBreaker(options);
    const opens: string[] = [];
    breaker.on('open', ({ reason, until }) => opens.push(`${reason} until ${until}`));
    await failOnce(breaker);
    const { openedAt } = breaker.state() as { openedAt: number };
    breaker.isolate();
    breaker.forceOpen();
    expect(opens).toEqual([
      `failure_threshold until ${openedAt + 1_000}`,
      'forced_open until Infinity',
    ]);
    expect(breaker.metrics().timesOpened).toBe(2);
    expect(breaker.state()).toMatchObject({ name: 'open', openedAt, forced: true });
  });

  it('a timed open becoming held open is a stateChange from open to open, and is logged', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { options } = onClock({ failureThreshold: 1, logger });
    const breaker = new CircuitBreaker(options);
    await failOnce(breaker);
    const seen = record(breaker, ['stateChange', 'open']);
    breaker.forceOpen();
    expect(seen).toEqual([
      ['stateChange', { breaker: 'breaker', from: 'open', to: 'open', reason: 'forced_open' }],
      ['open', expect.objectContaining({ reason: 'forced_open', until: Number.POSITIVE_INFINITY })],
    ]);
    expect(logger.warn).toHaveBeenLastCalledWith(
      expect.objectContaining({ reason: 'forced_open', until: Number.POSITIVE_INFINITY }),
      'circuit breaker "breaker" opened',
    );
  });

  it('forceOpen() after the open period ran out tells the same changes with or without a timer', async () => {
    const told = async (withTimer: boolean) => {
      const { clock, options } = onClock({ failureThreshold: 1, openDuration: 1_000 });
      const breaker = new CircuitBreaker(options);
      await failOnce(breaker);
      const changes: string[] = [];
      const listen = () =>
        breaker.on('stateChange', ({ from, to, reason }) =>
          changes.push(`${from}->${to} ${reason}`),
        );
      if (withTimer) listen();
      clock.advance(2_000);
      if (!withTimer) listen();
      breaker.forceOpen();
      return changes;
    };
    const expected = ['open->half_open open_elapsed', 'half_open->open forced_open'];
    expect(await told(true)).toEqual(expected);
    expect(await told(false)).toEqual(expected);
  });
});
