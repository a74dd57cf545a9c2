import { connect } from 'node:net';
import { v1 } from '@authzed/authzed-node';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { grpcError, useSpiceDb } from './spicedb.js';

const spicedb = useSpiceDb();
const opened: { proxy: FaultProxy; zed: v1.ZedClientInterface }[] = [];

afterEach(async () => {
  for (const { proxy, zed } of opened.splice(0)) {
    zed.close();
    await proxy.close();
  }
});

async function throughProxy(): Promise<{ proxy: FaultProxy; zed: v1.ZedClientInterface }> {
  const proxy = await startFaultProxy({ target: spicedb().endpoint });
  const zed = v1.NewClient(
    spicedb().token,
    proxy.endpoint,
    v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    undefined,
    {
      // Reconnects after a restart at once rather than after grpc-js's 1 s default backoff.
      'grpc.initial_reconnect_backoff_ms': 20,
      'grpc.max_reconnect_backoff_ms': 20,
    },
  );
  opened.push({ proxy, zed });
  return { proxy, zed };
}

/** bob may read the plan: the fixture's allow, through whatever is in between. */
function check(
  zed: v1.ZedClientInterface,
  timeoutMs = 2_000,
): Promise<v1.CheckPermissionResponse_Permissionship> {
  const request = v1.CheckPermissionRequest.create({
    resource: { objectType: 'document', objectId: 'plan' },
    permission: 'read',
    subject: { object: { objectType: 'user', objectId: 'bob' } },
  });
  return new Promise((resolve, reject) => {
    zed.checkPermission(
      request,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error, response) =>
        error === null && response !== undefined ? resolve(response.permissionship) : reject(error),
    );
  });
}

const HAS = v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION;

describe('the fault proxy', () => {
  it('passes a check through, on one connection', async () => {
    const { proxy, zed } = await throughProxy();
    expect(await check(zed)).toBe(HAS);
    expect(await check(zed)).toBe(HAS);
    expect(proxy.connections).toBe(1);
  });

  it('paused, holds the bytes with the connection open: the check does not answer, then does on pass()', async () => {
    const { proxy, zed } = await throughProxy();
    expect(await check(zed)).toBe(HAS);
    proxy.pause();
    const started = Date.now();
    const stalled = await grpcError(check(zed, 150));
    expect(stalled.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(proxy.connections).toBe(1);
    proxy.pass();
    expect(await check(zed)).toBe(HAS);
    expect(proxy.connections).toBe(1);
  });

  it('paused, accepts a new connection but forwards nothing on it until pass()', async () => {
    const { proxy, zed } = await throughProxy();
    proxy.pause();
    const stalled = await grpcError(check(zed, 150));
    expect(stalled.code).toBe(status.DEADLINE_EXCEEDED);
    expect(proxy.connections).toBe(1);
    proxy.pass();
    expect(await check(zed)).toBe(HAS);
  });

  it('dropped, destroys open connections and every new one', async () => {
    const { proxy, zed } = await throughProxy();
    expect(await check(zed)).toBe(HAS);
    proxy.drop();
    const dropped = await grpcError(check(zed));
    expect(dropped.code).toBe(status.UNAVAILABLE);
    const accepted = proxy.connections;
    const raw = connect(proxy.port, '127.0.0.1');
    const hadError = await new Promise<boolean>((resolve) => raw.on('close', resolve));
    expect(hadError).toBe(false); // accepted, then ended by the proxy: no ECONNREFUSED
    expect(proxy.connections).toBe(accepted + 1);
    proxy.pass();
    expect(await check(zed)).toBe(HAS);
  });

  it('killed, refuses connections (UNAVAILABLE within the fault bound), and restart() recovers', async () => {
    const { proxy, zed } = await throughProxy();
    expect(await check(zed)).toBe(HAS);
    await proxy.kill();
    const refused = await new Promise<NodeJS.ErrnoException>((resolve) =>
      connect(proxy.port, '127.0.0.1').on('error', resolve),
    );
    expect(refused.code).toBe('ECONNREFUSED');
    const started = Date.now();
    const unavailable = await grpcError(check(zed, 2_000));
    expect(unavailable.code).toBe(status.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const change of ['pass', 'pause', 'drop'] as const) {
      expect(() => proxy[change]()).toThrow(
        `fault proxy: cannot ${change} while killed; restart() it first`,
      );
    }
    expect(proxy.mode).toBe('killed');
    await proxy.restart();
    expect(proxy.mode).toBe('pass');
    let answer: unknown;
    for (let attempt = 0; attempt < 100 && answer !== HAS; attempt++) {
      answer = await check(zed).catch((error: ServiceError) => error.code);
      if (answer !== HAS) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answer).toBe(HAS);
  });

  it('close() destroys every connection it holds', async () => {
    const { proxy, zed } = await throughProxy();
    expect(await check(zed)).toBe(HAS);
    const raw = connect(proxy.port, '127.0.0.1');
    await new Promise((resolve) => raw.on('connect', resolve));
    const closed = new Promise<void>((resolve) => raw.on('close', () => resolve()));
    await proxy.close();
    await closed;
    expect(raw.destroyed).toBe(true);
    expect(proxy.connections).toBe(2);
  });
});
