import { get, type IncomingMessage } from 'node:http';
import { BreakerRegistry, ManualClock } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { REBUILD_INTERVAL_MS } from '../src/snapshot-cache.js';
import { bodyOf, dashboardPerTest, readEventStream, type SnapshotBody } from './fixture.js';

const start = dashboardPerTest();

describe('the snapshot', () => {
  it('is built once per sample and shared by GET breakers and new streams, each stamped when served', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock });
    const breaker = registry.get('payments');
    const { url } = await start({ registry, clock });
    const walks = vi.spyOn(registry, 'forEach');
    const first = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    const stream = await readEventStream(`${url}events`);
    expect((await stream.next('snapshot')).data).toEqual(first);
    expect(walks).toHaveBeenCalledTimes(1);
    // A change of state: the open stream is told at once; the shared build is kept for now.
    breaker.forceOpen();
    expect((await stream.next('state')).data).toMatchObject({ view: { state: 'forced_open' } });
    const held = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(held.breakers[0]?.state).toBe('closed');
    expect(walks).toHaveBeenCalledTimes(1);
    // A stream opened now gets that build followed by the change, so a page is exact at once.
    const late = await readEventStream(`${url}events`);
    expect((await late.next('snapshot')).data).toMatchObject({ breakers: [{ state: 'closed' }] });
    expect((await late.next('state')).data).toMatchObject({ view: { state: 'forced_open' } });
    // Once the build is REBUILD_INTERVAL_MS old, the next reader gets a new one.
    clock.advance(REBUILD_INTERVAL_MS);
    const rebuilt = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(rebuilt.breakers[0]?.state).toBe('forced_open');
    expect(walks).toHaveBeenCalledTimes(2);
    // Shared while nothing changes, but each reader is told the time it was served.
    clock.advance(400);
    const later = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(walks).toHaveBeenCalledTimes(2);
    expect([first.takenAt, rebuilt.takenAt, later.takenAt]).toEqual([0, 250, 650]);
    expect({ ...later, takenAt: 0 }).toEqual({ ...rebuilt, takenAt: 0 });
    // A sample's history too: one walk samples, the next reader builds anew.
    clock.advance(1000);
    await stream.next('stats');
    const sampled = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(sampled.breakers[0]?.history.calls).toEqual([0]);
    expect(walks).toHaveBeenCalledTimes(4);
    late.close();
    stream.close();
    registry.dispose();
  });

  it('is built at most once per REBUILD_INTERVAL_MS while breakers keep changing state', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock, sampleInterval: 60_000 });
    const breakers = Array.from({ length: 5 }, (_, i) => registry.get(`tenant-${i}`));
    const walks = vi.spyOn(registry, 'forEach');
    let reads = 0;
    for (let step = 0; step < 20; step++) {
      const breaker = breakers[step % breakers.length];
      if (step % 2 === 0) breaker?.forceOpen();
      else breaker?.forceClose();
      await fetch(`${url}breakers`);
      reads++;
      clock.advance(50);
    }
    // 20 reads over 1 s of churn: a build at 0, 250, 500, 750 ms.
    expect(reads).toBe(20);
    expect(walks).toHaveBeenCalledTimes(4);
  });

  it('follows the registry and the controls at once: a breaker registered or deleted, a reset', async () => {
    const clock = new ManualClock(0);
    const token = 'a-token-of-sixteen-chars';
    const { url, registry } = await start({ clock, sampleInterval: 60_000, token });
    const breaker = registry.get('payments');
    await breaker.execute(async () => 'ok');
    const read = async () => bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect((await read()).breakers[0]?.metrics.total).toBe(1);
    registry.get('search');
    expect((await read()).breakers.map((b) => b.name)).toEqual(['payments', 'search']);
    registry.delete('search');
    expect((await read()).breakers.map((b) => b.name)).toEqual(['payments']);
    const reset = await fetch(`${url}breakers/payments/reset`, {
      method: 'POST',
      headers: { 'X-Breakwater-Token': token },
    });
    expect(reset.status).toBe(200);
    expect((await read()).breakers[0]?.metrics.total).toBe(0);
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
