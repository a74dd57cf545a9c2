import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { secretFrom } from '../src/config/secret.js';
import { eicar, nextSample, type Sample } from '../src/demo/samples.js';
import { outcomesOf, UploadTally } from '../src/demo/tally.js';
import { startTraffic, type Traffic } from '../src/demo/traffic.js';

interface Seen {
  readonly token: string;
  readonly filename: string;
  readonly bytes: number;
  readonly path: string;
}

const open: { server: Server; traffic?: Traffic }[] = [];

afterEach(async () => {
  for (const { server, traffic } of open.splice(0)) {
    await traffic?.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A stand-in for the gateway's scan endpoint that answers as `answer` says, and records what came. */
async function gatewayLike(
  answer: (seen: Seen, response: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        token: (request.headers.authorization ?? '').replace(/^Bearer /, ''),
        filename: String(request.headers['x-filename']),
        bytes: Buffer.concat(chunks).length,
        path: request.url ?? '',
      };
      seen.push(entry);
      answer(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ server });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, server };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const total = (tally: UploadTally, user: string): number =>
  Object.values(tally.counts(user)).reduce((sum, n) => sum + n, 0);

describe('counting answers', () => {
  it('counts each file of a 200 by its decision, a 403 as denied, anything else as failed', () => {
    const files = (...decisions: string[]) => ({
      files: decisions.map((decision) => ({ decision })),
    });
    expect(outcomesOf(200, files('allow', 'allow_with_warning'))).toEqual(['allowed', 'allowed']);
    expect(outcomesOf(200, files('block', 'quarantine', 'require_review'))).toEqual([
      'blocked',
      'blocked',
      'blocked',
    ]);
    expect(outcomesOf(403, { error: { code: 'BREAKWATER_FORBIDDEN' } })).toEqual(['denied']);
    for (const status of [401, 408, 413, 500, 503])
      expect(outcomesOf(status, {})).toEqual(['failed']);
    expect(outcomesOf(200, undefined)).toEqual(['failed']);
    expect(outcomesOf(200, { files: [] })).toEqual(['failed']);
    expect(outcomesOf(200, files('shrug'))).toEqual(['failed']);
  });

  it('tallies per user, starting at zero for a user added before any answer', () => {
    const tally = new UploadTally();
    tally.add('rita');
    tally.record('alice', ['allowed', 'denied']);
    tally.record('alice', ['allowed']);
    expect(tally.users()).toEqual(['rita', 'alice']);
    expect(tally.counts('alice')).toEqual({ allowed: 2, blocked: 0, denied: 1, failed: 0 });
    expect(tally.counts('rita')).toEqual({ allowed: 0, blocked: 0, denied: 0, failed: 0 });
  });
});

describe('the traffic generator', () => {
  it('uploads as each user in turn, the raw file with its name, and counts what each was answered', async () => {
    const gateway = await gatewayLike((seen, response) => {
      if (seen.token === 'mallory-token')
        json(response, 403, { error: { code: 'BREAKWATER_FORBIDDEN' } });
      else if (seen.token === 'bob-token') json(response, 503, { error: { code: 'UNAVAILABLE' } });
      else {
        const decision = seen.filename.startsWith('eicar') ? 'block' : 'allow';
        json(response, 200, { files: [{ filename: seen.filename, decision }] });
      }
    });
    let n = 0;
    const samples = (): Sample =>
      n++ % 2 === 0
        ? { filename: `clean-${n}.txt`, bytes: Buffer.from('hello'), kind: 'clean' }
        : { filename: `eicar-${n}.com`, bytes: eicar(), kind: 'eicar' };
    const tally = new UploadTally();
    const traffic = startTraffic({
      url: gateway.url,
      tenant: 'demo',
      users: [
        { name: 'alice', token: secretFrom('test', 'alice-token') },
        { name: 'mallory', token: secretFrom('test', 'mallory-token') },
        { name: 'bob', token: secretFrom('test', 'bob-token') },
      ],
      tally,
      perSecond: 200,
      concurrency: 1,
      samples,
    });
    open.push({ server: gateway.server, traffic });
    await until(() => total(tally, 'alice') >= 4 && total(tally, 'bob') >= 4);
    await traffic.stop();
    expect(gateway.seen.slice(0, 6).map((seen) => seen.token)).toEqual([
      'alice-token',
      'mallory-token',
      'bob-token',
      'alice-token',
      'mallory-token',
      'bob-token',
    ]);
    expect(gateway.seen.every((seen) => seen.path === '/v1/tenants/demo/scans')).toBe(true);
    expect(gateway.seen[1]).toMatchObject({ filename: 'eicar-2.com', bytes: 68 });
    // alice gets every other file of the alternating mix: her files are both clean and EICAR.
    const alice = tally.counts('alice');
    expect(alice.allowed).toBeGreaterThan(0);
    expect(alice.blocked).toBeGreaterThan(0);
    expect(alice.denied + alice.failed).toBe(0);
    expect(tally.counts('mallory')).toMatchObject({ allowed: 0, blocked: 0, failed: 0 });
    expect(tally.counts('mallory').denied).toBeGreaterThanOrEqual(3);
    expect(tally.counts('bob')).toMatchObject({ allowed: 0, blocked: 0, denied: 0 });
    // Every answer was counted once, for whoever sent it: none lost, none made up.
    const answered = gateway.seen.length;
    const counted = ['alice', 'mallory', 'bob'].reduce((sum, user) => sum + total(tally, user), 0);
    expect(counted).toBeLessThanOrEqual(answered);
    expect(counted).toBeGreaterThanOrEqual(answered - 1);
  });

  it('keeps at most `concurrency` uploads in flight, and stop() ends them without counting them', async () => {
    const held: ServerResponse[] = [];
    const gateway = await gatewayLike((_seen, response) => held.push(response));
    const tally = new UploadTally();
    const traffic = startTraffic({
      url: gateway.url,
      tenant: 'demo',
      users: [{ name: 'alice', token: secretFrom('test', 'alice-token') }],
      tally,
      perSecond: 200,
      concurrency: 3,
    });
    open.push({ server: gateway.server, traffic });
    await until(() => held.length === 3);
    // 40 ms more at 200 a second: eight ticks that find three in flight and start none.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(gateway.seen).toHaveLength(3);
    expect(traffic.started).toBe(3);
    await traffic.stop();
    expect(tally.counts('alice')).toEqual({ allowed: 0, blocked: 0, denied: 0, failed: 0 });
  });

  it('takes a user added later into the turns, counted from zero', async () => {
    const gateway = await gatewayLike((seen, response) =>
      json(response, 200, { files: [{ filename: seen.filename, decision: 'allow' }] }),
    );
    const tally = new UploadTally();
    const traffic = startTraffic({
      url: gateway.url,
      tenant: 'demo',
      users: [{ name: 'alice', token: secretFrom('test', 'alice-token') }],
      tally,
      perSecond: 200,
      concurrency: 1,
    });
    open.push({ server: gateway.server, traffic });
    await until(() => total(tally, 'alice') >= 2);
    traffic.add({ name: 'nina', token: secretFrom('test', 'nina-token') });
    expect(tally.users()).toEqual(['alice', 'nina']);
    await until(() => total(tally, 'nina') >= 2);
    await traffic.stop();
    const tokens = gateway.seen.map((seen) => seen.token);
    const first = tokens.indexOf('nina-token');
    expect(first).toBeGreaterThanOrEqual(2);
    expect(tokens.slice(0, first).every((token) => token === 'alice-token')).toBe(true);
    expect(tokens.slice(first)).toContain('alice-token');
    expect(tally.counts('nina')).toMatchObject({ blocked: 0, denied: 0, failed: 0 });
  });

  it('counts an upload left unanswered past its timeout as failed', async () => {
    const gateway = await gatewayLike(() => {});
    const tally = new UploadTally();
    const traffic = startTraffic({
      url: gateway.url,
      tenant: 'demo',
      users: [{ name: 'rita', token: secretFrom('test', 'rita-token') }],
      tally,
      concurrency: 1,
      timeoutMs: 50,
    });
    open.push({ server: gateway.server, traffic });
    await until(() => tally.counts('rita').failed >= 1);
    expect(tally.counts('rita')).toMatchObject({ allowed: 0, blocked: 0, denied: 0 });
  });
});

describe('the sample mix', () => {
  it('builds EICAR at runtime (68 bytes, the standard string) and offers a mix of names and sizes', () => {
    const file = eicar();
    expect(file).toHaveLength(68);
    expect(file.toString('latin1').endsWith('-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*')).toBe(true);
    const kinds = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const sample = nextSample();
      kinds.add(sample.kind);
      expect(sample.filename).toMatch(/^[a-z]+-\d+\.[a-z]+$/);
      expect(sample.bytes.length).toBeGreaterThan(0);
    }
    expect([...kinds].sort()).toEqual(['clean', 'eicar', 'executable-as-document', 'script']);
  });
});
