import { BreakerRegistry, ManualClock } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import type { BreakerView } from '../src/index.js';
import { bodyOf, dashboardPerTest, failingCall, readEventStream } from './fixture.js';

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

  it("sends the current breaker's state event, and never walks the registry inside a transition", async () => {
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
    const walks = vi.spyOn(registry, 'forEach');
    await current.execute(failingCall).catch(() => {});
    await registry
      .get('sampled')
      .execute(failingCall)
      .catch(() => {});
    // Both transitions ran their listeners synchronously: neither walked.
    expect(walks).not.toHaveBeenCalled();
    const sampled = (await stream.next('state')).data;
    expect(sampled).toMatchObject({ name: 'sampled', to: 'open', view: { state: 'open' } });
    const replaced = (await stream.next('state')).data;
    expect(replaced).toMatchObject({
      name: 'tenant-42',
      from: 'closed',
      to: 'open',
      reason: 'failure_threshold',
      view: { state: 'open', metrics: { failures: 1 }, history: { calls: [], errors: [] } },
    });
    // The new breakers' changes wait for one walk, shared by all of them.
    expect(walks).toHaveBeenCalledTimes(1);
    registry.dispose();
    stream.close();
  });
});
