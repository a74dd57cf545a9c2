import { AuthorizationService, type PermissionChecker } from '@breakwater/authz';
import { BreakerRegistry, CircuitBreaker, FallbackBehavior, ManualClock } from '@breakwater/core';
import { FileInput, MockScanner, ScanManager } from '@breakwater/scanbridge';
import { describe, expect, it, vi } from 'vitest';
import { REBUILD_INTERVAL_MS } from '../src/snapshot-cache.js';
import {
  bodyOf,
  dashboardPerTest,
  failingCall,
  type SnapshotBody,
  succeedingCall,
} from './fixture.js';

const start = dashboardPerTest();

describe('GET breakers', () => {
  it('shows each breaker with the state, metrics and last transition it reports', async () => {
    const clock = new ManualClock(5_000_000);
    const { url, registry } = await start({ clock, sampleInterval: 1000 });
    const payments = new CircuitBreaker<string>({
      name: 'payments',
      clock,
      failureThreshold: 2,
      openDuration: 10_000,
      fallback: FallbackBehavior.fallback(() => 'cached'),
    });
    registry.register('payments', payments as CircuitBreaker<unknown>, { criticality: 'critical' });
    const search = registry.get('search', {
      clock,
      window: { type: 'count', size: 10, minimumCalls: 4, failureRateThreshold: 0.9 },
    });
    registry.get('held').forceOpen();
    registry.get('off').disable();
    clock.advance(1000);
    await payments.execute(succeedingCall);
    await payments.execute(failingCall).catch(() => {});
    await payments.execute(failingCall).catch(() => {});
    // Open now: refused, and answered by the fallback.
    expect(await payments.execute(succeedingCall)).toBe('cached');
    for (let i = 0; i < 3; i++) await search.execute(succeedingCall);
    await search.execute(failingCall).catch(() => {});
    clock.advance(1000);

    const response = await fetch(`${url}breakers`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await bodyOf<SnapshotBody>(response);
    expect(body).toMatchObject({
      takenAt: 5_002_000,
      controls: false,
      historyInterval: 1000,
      historyLength: 60,
      health: { status: 'critical' },
    });
    expect(body.breakers.map((view) => [view.name, view.state, view.status])).toEqual([
      ['payments', 'open', 'critical'],
      ['search', 'closed', 'healthy'],
      ['held', 'forced_open', 'degraded'],
      ['off', 'disabled', 'warning'],
    ]);
    expect(body.breakers[0]).toEqual({
      name: 'payments',
      state: 'open',
      criticality: 'critical',
      status: 'critical',
      metrics: {
        total: 4,
        successes: 1,
        failures: 2,
        rejections: 1,
        ignored: 0,
        timeouts: 0,
        fallbacks: 1,
        opened: 1,
        closed: 0,
        failureRate: null,
        slowCallRate: null,
      },
      lastTransition: { from: 'closed', to: 'open', reason: 'failure_threshold', at: 5_001_000 },
      nextProbeAt: 5_011_000,
      history: { calls: [0, 4], errors: [0, 2] },
    });
    expect(body.breakers[1]?.metrics).toMatchObject({ failureRate: 0.25, slowCallRate: 0 });
    expect(body.breakers[2]).toMatchObject({
      nextProbeAt: null,
      lastTransition: { from: 'closed', to: 'open', reason: 'forced_open' },
    });
    expect(body.breakers[3]?.lastTransition).toMatchObject({ to: 'disabled', reason: 'disabled' });
    expect(body).not.toHaveProperty('authorization');
    expect(body).not.toHaveProperty('scans');
  });

  it('says controls are on when a token is configured', async () => {
    const { url } = await start({ token: 'a-token-of-16-chars' });
    expect((await bodyOf<SnapshotBody>(await fetch(`${url}breakers`))).controls).toBe(true);
  });

  it('says how many samples each history keeps, and keeps no more', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({ clock });
    const breaker = registry.get('payments');
    const { url } = await start({ registry, clock, historyLength: 3 });
    for (let i = 1; i <= 5; i++) {
      for (let call = 0; call < i; call++) await breaker.execute(succeedingCall);
      clock.advance(1000);
    }
    const body = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(body.historyLength).toBe(3);
    expect(body.breakers[0]?.history).toEqual({ calls: [3, 4, 5], errors: [0, 0, 0] });
    registry.dispose();
  });

  it('returns an XSS breaker name JSON-escaped, as JSON, never as markup', async () => {
    const { url, registry } = await start();
    const name = '<img src=x onerror=alert(1)>&"';
    registry.get(name);
    const response = await fetch(`${url}breakers`);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await response.text();
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain('\\u003cimg src=x onerror=alert(1)\\u003e\\u0026\\"');
    expect((JSON.parse(text) as SnapshotBody).breakers[0]?.name).toBe(name);
  });

  it("adds the authorization service's stats under the name of its breaker", async () => {
    const clock = new ManualClock(0);
    const checker: PermissionChecker = {
      check: (req) => Promise.resolve(req.subject === 'user:alice'),
      health: () => Promise.resolve(),
    };
    const registry = new BreakerRegistry();
    const service = new AuthorizationService({ checker, registry, clock });
    const { url } = await start({ clock, registry, authorization: service });
    const check = (user: string) =>
      service.check({ resource: 'document:readme', permission: 'view', subject: `user:${user}` });
    await check('alice');
    await check('alice');
    await check('bob');
    const body = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(body.authorization).toEqual({ ...service.stats(), breaker: 'spicedb' });
    expect(body.authorization).toMatchObject({
      checks: { cache: { allowed: 1 }, spicedb: { allowed: 1, denied: 1 } },
    });
    expect(body.breakers.map((view) => view.name)).toEqual(['spicedb']);
    registry.dispose();
  });

  it("adds a scan manager's stats", async () => {
    const manager = ScanManager.builder()
      .addScanner(MockScanner.clean().withName('quick'))
      .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('sig'))
      .build();
    const { url } = await start({ scans: manager });
    await manager.scanWithPolicy(
      FileInput.fromBytes(new TextEncoder().encode('twelve bytes'), 'a.txt'),
    );
    const body = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(body.scans).toEqual(manager.stats());
    expect(body.scans).toMatchObject({
      engines: { quick: { clean: 1 }, sig: { infected: 1 } },
      bytesScanned: 12,
      scans: { completed: 1, failed: 0 },
    });
  });
});

describe('GET health', () => {
  it('is 200 with the roll-up until a critical breaker opens, then 503', async () => {
    const { url, registry } = await start();
    const payments = new CircuitBreaker<string>({ name: 'payments' });
    registry.register('payments', payments, { criticality: 'critical' });
    registry.get('search').forceOpen();
    const degraded = await fetch(`${url}health`);
    expect(degraded.status).toBe(200);
    expect(degraded.headers.get('cache-control')).toBe('no-store');
    const health = await bodyOf(degraded);
    expect(health).toEqual(registry.health());
    expect(health.status).toBe('degraded');
    payments.forceOpen();
    const critical = await fetch(`${url}health`);
    expect(critical.status).toBe(503);
    expect(await bodyOf(critical)).toMatchObject({ status: 'critical' });
  });

  it('is computed once per sample and shared, and its roll-up is never behind a change of state', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock });
    const payments = new CircuitBreaker<string>({ name: 'payments', clock });
    registry.register('payments', payments, { criticality: 'critical' });
    const walks = vi.spyOn(registry, 'health');
    const first = await (await fetch(`${url}health`)).text();
    expect(await (await fetch(`${url}health`)).text()).toBe(first);
    expect(walks).toHaveBeenCalledTimes(1);
    payments.forceOpen();
    const opened = await fetch(`${url}health`);
    expect(opened.status).toBe(503);
    // The roll-up is counted from the change; the list is the shared one, rebuilt at most once
    // per REBUILD_INTERVAL_MS while states change.
    expect((await bodyOf(opened)).status).toBe('critical');
    expect(walks).toHaveBeenCalledTimes(1);
    clock.advance(REBUILD_INTERVAL_MS);
    expect(await bodyOf(await fetch(`${url}health`))).toMatchObject({
      status: 'critical',
      breakers: [{ name: 'payments', state: 'open', status: 'critical' }],
    });
    expect(walks).toHaveBeenCalledTimes(2);
    payments.forceClose();
    expect((await fetch(`${url}health`)).status).toBe(200);
    expect(walks).toHaveBeenCalledTimes(2);
  });

  it('follows the registry at once: a breaker registered open, or deleted, between samples', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock, sampleInterval: 60_000 });
    registry.get('search');
    expect((await fetch(`${url}health`)).status).toBe(200);
    const payments = new CircuitBreaker<string>({ name: 'payments', clock });
    payments.forceOpen();
    registry.register('payments', payments, { criticality: 'critical' });
    const registered = await fetch(`${url}health`);
    expect(registered.status).toBe(503);
    expect(((await bodyOf(registered)).breakers as unknown[]).length).toBe(2);
    registry.delete('payments');
    const deleted = await fetch(`${url}health`);
    expect(deleted.status).toBe(200);
    expect(await bodyOf(deleted)).toEqual(registry.health());
  });

  it('follows a swap that leaves the size unchanged: deleted, then registered again', async () => {
    const clock = new ManualClock(0);
    const { url, registry } = await start({ clock, sampleInterval: 60_000 });
    registry.register('tenant-a', openBreaker('tenant-a', clock), { criticality: 'critical' });
    expect((await fetch(`${url}health`)).status).toBe(503);
    registry.delete('tenant-a');
    registry.register('tenant-a', new CircuitBreaker({ name: 'tenant-a', clock }), {
      criticality: 'critical',
    });
    const swapped = await fetch(`${url}health`);
    expect(swapped.status).toBe(200);
    expect(await bodyOf(swapped)).toEqual(registry.health());
    const snapshot = await bodyOf<SnapshotBody>(await fetch(`${url}breakers`));
    expect(snapshot.breakers.map((b) => [b.name, b.state])).toEqual([['tenant-a', 'closed']]);
  });
});

function openBreaker(name: string, clock: ManualClock): CircuitBreaker<unknown> {
  const breaker = new CircuitBreaker({ name, clock });
  breaker.forceOpen();
  return breaker;
}
