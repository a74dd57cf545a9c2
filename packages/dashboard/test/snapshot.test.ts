import { get, type IncomingMessage } from 'node:http';
import { BreakerRegistry, ManualClock } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { bodyOf, dashboardPerTest, readEventStream, type SnapshotBody } from './fixture.js';

const start = dashboardPerTest();

describe('the snapshot', () => {
  it('is built once per sample and shared by GET breakers and new streams, until a state changes', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock });
    const breaker = registry.get('payments');
    const { url } = await start({ registry, clock });
    const walks = vi.spyOn(registry, 'forEach');
    const first = await (await fetch(`${url}breakers`)).text();
    const second = await (await fetch(`${url}breakers`)).text();
    const stream = await readEventStream(`${url}events`);
    const { data } = await stream.next('snapshot');
    expect(second).toBe(first);
    expect(data).toEqual(JSON.parse(first));
    expect(walks).toHaveBeenCalledTimes(1);
    // A change of state is never served stale to the next reader.
    breaker.forceOpen();
    const after = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(after.breakers[0]?.state).toBe('forced_open');
    expect(walks).toHaveBeenCalledTimes(2);
    expect((await stream.next('state')).data).toMatchObject({ view: { state: 'forced_open' } });
    // Nor is a sample's history: one walk samples, the next reader builds anew.
    clock.advance(1000);
    await stream.next('stats');
    const sampled = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(sampled.breakers[0]?.history.calls).toEqual([0]);
    expect(walks).toHaveBeenCalledTimes(4);
    stream.close();
    registry.dispose();
  });

  it('is not stale for a reader without a page open: a change between samples is seen', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock });
    const breaker = registry.get('payments');
    await fetch(`${url}breakers`);
    breaker.forceOpen();
    const after = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(after.breakers[0]?.state).toBe('forced_open');
  });

  it('is downloaded by at most maxClients readers at once; one more gets 503', async () => {
    const { url, registry } = await start({ maxClients: 1 });
    // About 15 MB: more than the loopback socket buffers hold for a reader that stopped.
    for (let i = 0; i < 30_000; i++) registry.get(`tenant-${i}`);
    const stalled = await new Promise<IncomingMessage>((resolve, reject) => {
      get(`${url}breakers`, { agent: false }, (res) => {
        res.pause();
        resolve(res);
      }).on('error', reject);
    });
    expect(stalled.statusCode).toBe(200);
    const refused = await fetch(`${url}breakers`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await bodyOf(refused)).toEqual({
      error: 'too many snapshot downloads in flight (at most 1): try again in a moment',
    });
    stalled.destroy();
    await expect.poll(async () => (await fetch(`${url}breakers`)).status).toBe(200);
  });
});
