import { BreakerRegistry, ManualClock } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import type { BreakerView } from '../src/index.js';
import { bodyOf, dashboardPerTest, failingCall, readEventStream } from './fixture.js';

interface StateEvent {
  readonly name: string;
  readonly to: string;
  readonly view: BreakerView;
}

const TOKEN = 'replaced-breaker-token';
const start = dashboardPerTest({ token: TOKEN });
const control = (url: string, name: string, action: string) =>
  fetch(`${url}breakers/${encodeURIComponent(name)}/${action}`, {
    method: 'POST',
    headers: { 'X-Breakwater-Token': TOKEN },
  });

describe('a breaker replaced under its name between two samples', () => {
  it('is the one a control acts on, not the disposed one the last sample saw', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock });
    const old = registry.get('tenant-42');
    clock.advance(1000);
    registry.delete('tenant-42');
    const current = registry.get('tenant-42');
    const answer = await control(url, 'tenant-42', 'open');
    expect(answer.status).toBe(200);
    expect(await bodyOf<BreakerView>(answer)).toMatchObject({ state: 'forced_open' });
    expect(current.state()).toMatchObject({ name: 'open', forced: true });
    expect(old.state().name).toBe('closed');
  });

  it('is the one a control acts on when the registry dropped the old one as idle', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock, idleTtl: 1000 });
    const { url } = await start({ registry, clock });
    const old = registry.get('tenant-7');
    clock.advance(1000);
    clock.advance(1000);
    // A get() of another name sweeps the idle ones: tenant-7 is disposed, then made anew.
    registry.get('tenant-8');
    expect(registry.has('tenant-7')).toBe(false);
    const current = registry.get('tenant-7');
    expect((await control(url, 'tenant-7', 'open')).status).toBe(200);
    expect(current.state().name).toBe('open');
    expect(old.state().name).toBe('closed');
    registry.dispose();
  });

  it("sends the current breaker's state events at once and in order, never walking the registry", async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock });
    const { url } = await start({ registry, clock });
    registry.get('tenant-42');
    registry.get('sampled', { failureThreshold: 1 });
    const stream = await readEventStream(`${url}events`);
    await stream.next('snapshot');
    clock.advance(1000);
    await stream.next('stats');
    registry.delete('tenant-42');
    const current = registry.get('tenant-42', { failureThreshold: 1 });
    // Made since the last sample, like the replaced one: no sample has seen either.
    const fresh = registry.get('fresh');
    const walks = vi.spyOn(registry, 'forEach');
    await current.execute(failingCall).catch(() => {});
    fresh.forceOpen();
    await registry
      .get('sampled')
      .execute(failingCall)
      .catch(() => {});
    fresh.forceClose();
    const told: StateEvent[] = [];
    for (let i = 0; i < 4; i++) told.push((await stream.next('state')).data as StateEvent);
    // In the order the transitions ran: the unsampled breakers wait for nothing.
    expect(told.map(({ name, to, view }) => [name, to, view.state])).toEqual([
      ['tenant-42', 'open', 'open'],
      ['fresh', 'open', 'forced_open'],
      ['sampled', 'open', 'open'],
      ['fresh', 'closed', 'closed'],
    ]);
    expect(told[0]).toMatchObject({
      from: 'closed',
      reason: 'failure_threshold',
      view: { metrics: { failures: 1 }, history: { calls: [], errors: [] } },
    });
    // The sampled breaker keeps the history its sample found.
    expect(told[2]?.view.history).toEqual({ calls: [0], errors: [0] });
    expect(walks).not.toHaveBeenCalled();
    registry.dispose();
    stream.close();
  });
});
