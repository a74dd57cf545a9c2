import { BreakerRegistry, CircuitBreaker, ManualClock } from '@breakwater/core';
import { FileInput, MockScanner, ScanManager } from '@breakwater/scanbridge';
import { describe, expect, it } from 'vitest';
import type { BreakerView } from '../src/index.js';
import {
  bodyOf,
  dashboardPerTest,
  failingCall,
  readEventStream,
  type SnapshotBody,
  succeedingCall,
} from './fixture.js';

const start = dashboardPerTest();

describe('GET events', () => {
  it('opens with a snapshot, the same JSON as GET breakers', async () => {
    const { url, registry } = await start({ token: 'the-token-0123456789' });
    registry.get('payments');
    const stream = await readEventStream(`${url}events`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    expect(stream.headers['x-content-type-options']).toBe('nosniff');
    const { data } = await stream.next('snapshot');
    const fetched = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(data).toMatchObject({
      controls: true,
      historyInterval: 1000,
      historyLength: 60,
      health: { status: 'healthy' },
    });
    expect((data as { breakers: unknown }).breakers).toEqual(fetched.breakers);
    stream.close();
  });

  it('sends a state event as soon as a breaker is forced open on the server', async () => {
    const { url, registry } = await start();
    const breaker = registry.get('payments');
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    breaker.forceOpen();
    const { data } = await stream.next('state', 2000);
    expect(data).toMatchObject({
      name: 'payments',
      from: 'closed',
      to: 'open',
      reason: 'forced_open',
      at: breaker.lastTransition()?.at,
      view: { name: 'payments', state: 'forced_open', status: 'degraded', nextProbeAt: null },
    });
    stream.close();
  });

  it('tells a timed opening with its next probe, and a breaker registered after the page opened', async () => {
    const { url, registry } = await start();
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    const late = new CircuitBreaker({ name: 'late', failureThreshold: 1, openDuration: 30_000 });
    registry.register('late', late, { criticality: 'critical' });
    await late.execute(failingCall).catch(() => {});
    const { data } = await stream.next('state');
    const state = late.state();
    expect(state.name).toBe('open');
    expect(data).toMatchObject({
      name: 'late',
      to: 'open',
      reason: 'failure_threshold',
      view: {
        state: 'open',
        status: 'critical',
        nextProbeAt: state.name === 'open' ? state.until : -1,
        metrics: { failures: 1 },
      },
    });
    stream.close();
  });

  it('sends stats every sampleInterval with the calls and errors of each breaker that moved', async () => {
    const clock = new ManualClock(1_000_000);
    const { url, registry } = await start({ clock, sampleInterval: 1000 });
    const busy = registry.get('busy');
    registry.get('idle');
    const rated = registry.get('rated', {
      window: { type: 'count', size: 10, minimumCalls: 2, failureRateThreshold: 0.9 },
    });
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    // Found after the start, so they start from their totals: their past is in their views,
    // not in an interval of their history.
    await busy.execute(succeedingCall);
    await busy.execute(failingCall).catch(() => {});
    clock.advance(1000);
    const found = (await stream.next('stats')).data as { changed: object; added: BreakerView[] };
    expect(found.changed).toEqual({});
    expect(found.added.map((view) => [view.name, view.metrics.total, view.history])).toEqual([
      ['busy', 2, { calls: [0], errors: [0] }],
      ['idle', 0, { calls: [0], errors: [0] }],
      ['rated', 0, { calls: [0], errors: [0] }],
    ]);
    for (let i = 0; i < 3; i++) await busy.execute(succeedingCall);
    await busy.execute(failingCall).catch(() => {});
    await rated.execute(succeedingCall);
    await rated.execute(failingCall).catch(() => {});
    clock.advance(1000);
    const first = (await stream.next('stats')).data;
    expect(first).toEqual({
      at: 1_002_000,
      health: { status: 'healthy' },
      total: 3,
      changed: { busy: [4, 1, 0, null, 6], rated: [2, 1, 0, 0.5, 2] },
    });
    await busy.execute(succeedingCall);
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({
      changed: { busy: [1, 0, 0, null, 7] },
    });
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({ at: 1_004_000, changed: {} });
    const { breakers } = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    const history = breakers.find((view) => view.name === 'busy')?.history;
    expect(history).toEqual({ calls: [0, 4, 1, 0], errors: [0, 1, 0, 0] });
    stream.close();
  });

  it('gives each breaker that moved its total now: a reset the deltas miss still shows right', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock });
    const breaker = registry.get('payments');
    for (let i = 0; i < 2; i++) await breaker.execute(succeedingCall);
    const { url } = await start({ registry, clock });
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    // A reset of a closed breaker makes no transition: only the totals tell it from a call.
    breaker.reset();
    for (let i = 0; i < 3; i++) await breaker.execute(succeedingCall);
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({
      changed: { payments: [1, 0, 0, null, 3] },
    });
    stream.close();
    registry.dispose();
  });

  it('lists breakers added and removed since the last stats event', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock });
    registry.get('old');
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({ added: [{ name: 'old' }] });
    registry.delete('old');
    registry.get('new').forceOpen();
    clock.advance(1000);
    const { data } = await stream.next('stats');
    expect(data).toMatchObject({
      total: 1,
      health: { status: 'degraded' },
      removed: ['old'],
      added: [{ name: 'new', state: 'forced_open', history: { calls: [0], errors: [0] } }],
    });
    stream.close();
  });

  it('carries the scan stats of the moment in each stats event', async () => {
    const clock = new ManualClock(0);
    const manager = ScanManager.builder().addScanner(MockScanner.clean().withName('quick')).build();
    const { url } = await start({ clock, scans: manager });
    const stream = await readEventStream(`${url}events`);
    expect((await stream.next('snapshot')).data).toMatchObject({ scans: { bytesScanned: 0 } });
    await manager.scan(FileInput.fromBytes(new Uint8Array(7), 'zeros.bin'));
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({
      scans: { bytesScanned: 7, engines: { quick: { clean: 1 } } },
    });
    stream.close();
  });

  it('sends the breakers part of each stats event while a source throws, reporting each failure streak once', async () => {
    const clock = new ManualClock(0);
    const manager = ScanManager.builder().addScanner(MockScanner.clean().withName('quick')).build();
    let broken = false;
    const scans = {
      stats: () => {
        if (broken) throw new TypeError('the stats source broke');
        return manager.stats();
      },
    };
    const errors: string[] = [];
    const logger = {
      info() {},
      warn() {},
      error: (fields: Record<string, unknown>, message: string) =>
        errors.push(`${message}: ${(fields.err as Error).name}`),
    };
    const { url, registry } = await start({ clock, scans, logger });
    registry.get('old');
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    clock.advance(1000);
    await stream.next('stats');
    broken = true;
    registry.delete('old');
    registry.get('new');
    clock.advance(1000);
    const during = (await stream.next('stats')).data as Record<string, unknown>;
    expect(during).toMatchObject({
      at: 2000,
      total: 1,
      removed: ['old'],
      added: [{ name: 'new' }],
    });
    // null, not left out: the page shows the panel as unavailable instead of its old figures.
    expect(during.scans).toBeNull();
    // The page loads too, its scans panel unavailable.
    const snapshot = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(snapshot.breakers.map((view) => view.name)).toEqual(['new']);
    expect(snapshot.scans).toBeNull();
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({ at: 3000 });
    expect(errors).toEqual(['dashboard: the scan stats failed: TypeError']);
    broken = false;
    clock.advance(1000);
    expect((await stream.next('stats')).data).toMatchObject({
      at: 4000,
      scans: { bytesScanned: 0 },
    });
    broken = true;
    clock.advance(1000);
    await stream.next('stats');
    expect(errors).toEqual([
      'dashboard: the scan stats failed: TypeError',
      'dashboard: the scan stats failed: TypeError',
    ]);
    stream.close();
  });

  it('writes a ping comment every 15 s', async () => {
    const clock = new ManualClock(0);
    const { url } = await start({ clock, sampleInterval: 60_000 });
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    expect(stream.comments).toEqual([]);
    clock.advance(15_000);
    clock.advance(15_000);
    await expect.poll(() => stream.comments).toEqual(['ping', 'ping']);
    stream.close();
  });

  it('answers a stream past maxClients with 503, and a closed stream frees its slot at once', async () => {
    const { url, handler } = await start();
    const streams = await Promise.all(
      Array.from({ length: 32 }, () => readEventStream(`${url}events`)),
    );
    expect(streams.map((stream) => stream.status)).toEqual(Array(32).fill(200));
    const refused = await fetch(`${url}events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await bodyOf(refused)).error).toMatch(/too many open event streams \(at most 32\)/);
    streams[0]?.close();
    await streams[0]?.ended;
    // The server sees the close a moment after the client does.
    await expect
      .poll(async () => {
        const again = await readEventStream(`${url}events`);
        if (again.status === 200) streams[0] = again;
        return again.status;
      })
      .toBe(200);
    handler.close();
    await Promise.all(streams.map((stream) => stream.ended));
    const afterClose = await fetch(`${url}events`);
    expect(afterClose.status).toBe(503);
    expect((await bodyOf(afterClose)).error).toBe('the dashboard is shut down');
  });

  it('honours a smaller maxClients', async () => {
    const { url } = await start({ maxClients: 1 });
    const only = await readEventStream(`${url}events`);
    expect((await fetch(`${url}events`)).status).toBe(503);
    only.close();
  });
});
