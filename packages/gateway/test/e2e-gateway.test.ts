import { execFile } from 'node:child_process';
import { watch } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrometheusServer, startPrometheus } from '../../prometheus/test/prometheus-server.js';
import { alive, descendants, sampleRss } from './e2e/processes.js';
import {
  CACHE_FRESH_MS,
  CLAMD_FAILURES_TO_OPEN,
  type E2eStack,
  type E2eUser,
  SPICEDB_OPEN_MS,
  startE2eStack,
} from './e2e/stack.js';
import { type ClamavRestJson, errorOf, filesOf, jsonOf } from './support/answers.js';
import { CLEAN_TEXT, EICAR } from './support/samples.js';

const PROMTOOL = '/usr/bin/promtool';
const MiB = 1024 * 1024;
const BIG_UPLOAD_BYTES = 200 * MiB;
const RSS_LIMIT_BYTES = 150 * MiB;

let stack: E2eStack;
let prometheus: PrometheusServer | undefined;

beforeAll(async () => {
  stack = await startE2eStack();
  // Started now so that it has scraped by the time the metrics test asks (its first scrape
  // comes about 5 s after it starts).
  prometheus = await startPrometheus([new URL(stack.gateway.url).host]);
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await stack?.stop();
}, 60_000);

function upload(user: E2eUser, filename: string, body: string | Uint8Array): Promise<Response> {
  return fetch(`${stack.gateway.url}/v1/tenants/acme/scans`, {
    method: 'POST',
    body,
    headers: {
      authorization: `Bearer ${stack.tokens[user]}`,
      'content-type': 'application/octet-stream',
      'x-filename': filename,
    },
  });
}

interface BreakerRow {
  readonly name: string;
  readonly state: string;
}

async function breakers(): Promise<Map<string, string>> {
  const response = await fetch(`${stack.gateway.url}/dashboard/breakers`);
  expect(response.status).toBe(200);
  const { breakers: rows } = await jsonOf<{ breakers: BreakerRow[] }>(response);
  return new Map(rows.map((row) => [row.name, row.state]));
}

/** The dashboard's breaker states once `name` shows `state` (its answer may be 250 ms behind). */
function dashboardShows(name: string, state: string): Promise<Map<string, string>> {
  return until(breakers, (states) => states.get(name) === state, 2_000);
}

async function metricsText(): Promise<string> {
  const response = await fetch(`${stack.gateway.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Engine runs counted so far: the sum over scanbridge_scans_total's series. */
async function scansCounted(): Promise<number> {
  let sum = 0;
  for (const match of (await metricsText()).matchAll(/^scanbridge_scans_total\{[^}]*\} (\S+)$/gm))
    sum += Number(match[1]);
  return sum;
}

/** One sample's value in the exposition (0 when the series is absent), labels in any order. */
function sampleOf(text: string, name: string, labels: Record<string, string>): number {
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const has = match[1]?.split(',') ?? [];
    if (Object.entries(labels).every(([k, v]) => has.includes(`${k}="${v}"`)))
      return Number(match[2]);
  }
  return 0;
}

/** Polls `read` until `done` accepts what it gives; fails with the last value after `withinMs`. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, withinMs: number) {
  const giveUp = performance.now() + withinMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > giveUp)
      throw new Error(`still ${JSON.stringify(value)} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The names created or removed in the gateway's spool directory while it is watched. */
function watchSpool(): { names(): string[]; close(): void } {
  const names = new Set<string>();
  const watcher = watch(stack.spoolDir, (_event, name) => {
    if (name !== null) names.add(name);
  });
  return { names: () => [...names], close: () => watcher.close() };
}

describe('the gateway process: breakwater-gateway serve with clamd, YARA and SpiceDB', () => {
  it('blocks EICAR with a threat from clamav and one from yara, and allows a clean file', async () => {
    const blocked = await filesOf(await upload('alice', 'eicar.com', EICAR));
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({
      filename: 'eicar.com',
      decision: 'block',
      outcome: 'infected',
    });
    expect(new Set(blocked[0]?.threats.map((threat) => threat.engine))).toEqual(
      new Set(['clamav', 'yara']),
    );
    expect(blocked[0]?.threats).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ engine: 'clamav', name: 'Eicar-Test-Signature.UNOFFICIAL' }),
        expect.objectContaining({ engine: 'yara', name: 'Eicar_Test_File' }),
      ]),
    );

    const allowed = await filesOf(await upload('alice', 'notes.txt', CLEAN_TEXT));
    expect(allowed[0]).toMatchObject({
      filename: 'notes.txt',
      decision: 'allow',
      outcome: 'clean',
    });
    expect(allowed[0]?.engines).toEqual(
      expect.arrayContaining([
        { name: 'clamav', outcome: 'clean' },
        { name: 'yara', outcome: 'clean' },
      ]),
    );
  });

  it('answers 403 with the missing permission to a caller without scan, and the file reaches no engine', async () => {
    // Past the 1 MiB a scan holds in memory: an upload this size that gets through is spooled.
    const body = new Uint8Array(2 * MiB).fill(0x61);
    const scansBefore = await scansCounted();
    const clamdBytesBefore = stack.clamdRelay.bytesOut;
    const spool = watchSpool();
    try {
      const refused = await upload('mallory', 'report.txt', body);
      expect(refused.status).toBe(403);
      expect(await errorOf(refused)).toMatchObject({ permission: 'scan', resource: 'tenant:acme' });
      expect(await scansCounted()).toBe(scansBefore);
      expect(stack.clamdRelay.bytesOut).toBe(clamdBytesBefore);

      // The same upload by a caller who may scan is spooled, reaches clamd and is counted: what
      // is watched here does see an upload that gets through. The directory's events come in
      // the order things happened: once this upload's spool is seen, one the refused upload
      // had made would have been seen before it.
      expect((await upload('alice', 'report.txt', body)).status).toBe(200);
      const spooled = await until(
        async () => spool.names().filter((name) => name.startsWith('scanbridge-')),
        (names) => names.length > 0,
        5_000,
      );
      expect(spooled).toHaveLength(1);
    } finally {
      spool.close();
    }
    expect(stack.clamdRelay.bytesOut - clamdBytesBefore).toBeGreaterThanOrEqual(body.byteLength);
    expect(await scansCounted()).toBe(scansBefore + 2);
  });

  it("answers clamav-rest-api's POST /api/v1/scan in its shape, files in the FILES field", async () => {
    const form = new FormData();
    form.append('FILES', new Blob([EICAR]), 'eicar.com');
    form.append('FILES', new Blob([CLEAN_TEXT]), 'notes.txt');
    const response = await fetch(`${stack.gateway.url}/api/v1/scan`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${stack.tokens.alice}` },
    });
    expect(response.status).toBe(200);
    const body = await jsonOf<ClamavRestJson>(response);
    expect(Object.keys(body).sort()).toEqual(['data', 'success']);
    expect(body.success).toBe(true);
    expect(body.data.result).toHaveLength(2);
    const [eicar, clean] = body.data.result ?? [];
    expect(eicar).toEqual({
      name: 'eicar.com',
      is_infected: true,
      viruses: expect.arrayContaining(['Eicar-Test-Signature.UNOFFICIAL', 'Eicar_Test_File']),
    });
    expect(clean).toEqual({ name: 'notes.txt', is_infected: false, viruses: [] });
  });

  it('serves /metrics that promtool accepts and a real Prometheus scrapes', async () => {
    const text = await metricsText();
    for (const family of [
      'breakwater_calls_total',
      'scanbridge_scans_total',
      'scanbridge_decisions_total',
    ])
      expect(text).toContain(`# TYPE ${family} counter`);
    const checked = await new Promise<{ code: number; output: string }>((resolve) => {
      const child = execFile(PROMTOOL, ['check', 'metrics'], (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr }),
      );
      child.stdin?.end(text);
    });
    expect(checked).toEqual({ code: 0, output: '' });

    const scraped = await (prometheus as PrometheusServer).waitFor(
      'scanbridge_decisions_total{action="block"}',
      (samples) => samples.some((sample) => sample.value >= 1),
      30_000,
    );
    expect(scraped[0]?.metric).toMatchObject({ job: 'breakwater', action: 'block' });
    const up = await (prometheus as PrometheusServer).query('up{job="breakwater"}');
    expect(up.map((sample) => sample.value)).toEqual([1]);
  }, 40_000);

  it('streams a 200 MB upload with the gateway process below 150 MB of RSS', async ({
    annotate,
  }) => {
    const chunk = Buffer.alloc(MiB);
    // Bytes that no rule matches and that do not repeat within a chunk.
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + (i >> 8)) & 0xff;
    const baseline = sampleRss(stack.gateway.pid, 50)();
    const stopSampling = sampleRss(stack.gateway.pid, 50);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL('/v1/tenants/acme/scans', stack.gateway.url);
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${stack.tokens.alice}`,
            'content-type': 'application/octet-stream',
            'content-length': BIG_UPLOAD_BYTES,
            'x-filename': 'backup.bin',
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (part: string) => {
            body += part;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      Readable.from(
        (function* () {
          for (let sent = 0; sent < BIG_UPLOAD_BYTES; sent += MiB) yield chunk;
        })(),
      ).pipe(req);
    });
    const { peak, samples } = stopSampling();
    annotate(
      `gateway RSS: baseline ${(baseline.peak / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB over ${samples} samples`,
    );
    expect(answer.status).toBe(200);
    const [file] = (JSON.parse(answer.body) as { files: { size: number; engines: unknown }[] })
      .files;
    expect(file?.size).toBe(BIG_UPLOAD_BYTES);
    // YARA scanned all of it (in its own process, whose memory is not the gateway's); clamd's
    // scanner refuses more than its 100 MiB default before sending it.
    expect(file?.engines).toEqual(
      expect.arrayContaining([
        { name: 'yara', outcome: 'clean' },
        { name: 'clamav', outcome: 'failed', error: 'file_too_large' },
      ]),
    );
    expect(samples).toBeGreaterThan(10);
    expect(peak).toBeLessThan(RSS_LIMIT_BYTES);
  }, 120_000);

  it('while SpiceDB is paused: a caller allowed before still uploads, one never seen is denied, and the breaker shows open', async () => {
    // alice is allowed now; adam, who may scan, has not been asked about yet.
    expect((await upload('alice', 'notes.txt', CLEAN_TEXT)).status).toBe(200);
    const allowedAt = performance.now();
    stack.spicedbProxy.pause();
    try {
      const denied = await upload('adam', 'notes.txt', CLEAN_TEXT);
      expect(denied.status).toBe(403);
      expect(Number(denied.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await errorOf(denied)).toMatchObject({ permission: 'scan' });
      expect((await dashboardShows('spicedb', 'open')).get('spicedb')).toBe('open');

      // Past the cache's freshness only the fallback can let alice in, from her cached allow.
      const wait = CACHE_FRESH_MS + 200 - (performance.now() - allowedAt);
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      const fallbackAllowed = async (): Promise<number> =>
        sampleOf(await metricsText(), 'authorization_check_total', {
          result: 'allowed',
          source: 'fallback',
        });
      const before = await fallbackAllowed();
      const cached = await upload('alice', 'notes.txt', CLEAN_TEXT);
      expect(cached.status).toBe(200);
      expect((await filesOf(cached))[0]?.decision).toBe('allow');
      expect(await fallbackAllowed()).toBe(before + 1);
    } finally {
      stack.spicedbProxy.pass();
    }
    // Once the breaker lets a probe through, SpiceDB answers again and adam is allowed.
    const recovered = await until(
      async () => (await upload('adam', 'notes.txt', CLEAN_TEXT)).status,
      (status) => status === 200,
      SPICEDB_OPEN_MS + 10_000,
    );
    expect(recovered).toBe(200);
    expect((await dashboardShows('spicedb', 'closed')).get('spicedb')).toBe('closed');
  }, 30_000);

  it("with clamd killed: clamav's breaker opens, YARA still scans, and the default policy sends clean files to review and blocks what YARA finds", async () => {
    await stack.clamd.kill();
    for (let i = 0; i < CLAMD_FAILURES_TO_OPEN; i++) {
      const [file] = await filesOf(await upload('alice', `notes-${i}.txt`, CLEAN_TEXT));
      expect(file).toMatchObject({ decision: 'require_review', outcome: 'error' });
      expect(file?.engines).toEqual([
        { name: 'yara', outcome: 'clean' },
        { name: 'clamav', outcome: 'failed', error: 'connection_failed' },
      ]);
    }
    expect(await dashboardShows('clamav', 'open')).toEqual(
      new Map([
        ['yara', 'closed'],
        ['clamav', 'open'],
        ['spicedb', 'closed'],
      ]),
    );

    // The open breaker answers for clamd at once, without asking it. "Clean from some engines
    // is not clean from all": the default policy's review-errors rule holds a clean file for a
    // person, and YARA alone still blocks EICAR.
    const connectionsBefore = stack.clamdRelay.connections;
    const [clean] = await filesOf(await upload('alice', 'notes.txt', CLEAN_TEXT));
    expect(clean).toMatchObject({
      decision: 'require_review',
      reason: expect.stringContaining('review-errors'),
    });
    expect(clean?.engines).toEqual([
      { name: 'yara', outcome: 'clean' },
      { name: 'clamav', outcome: 'failed', error: 'circuit_open' },
    ]);
    const [eicar] = await filesOf(await upload('alice', 'eicar.com', EICAR));
    expect(eicar).toMatchObject({ decision: 'block', outcome: 'infected' });
    expect(eicar?.threats.map((threat) => threat.engine)).toEqual(['yara']);
    expect(stack.clamdRelay.connections).toBe(connectionsBefore);
    // One engine of two open is degraded, not down: the gateway stays ready.
    const ready = await fetch(`${stack.gateway.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('stops on SIGTERM with exit 0, its YARA process with it, and never logged a secret', async () => {
    const yara = descendants(stack.gateway.pid);
    expect(yara.length).toBeGreaterThanOrEqual(1);
    expect(await stack.gateway.stop()).toEqual({ code: 0, signal: null });
    await until(
      async () => yara.filter(alive),
      (left) => left.length === 0,
      5_000,
    );
    const log = stack.gateway.stderr();
    // It did log: every refusal above is audited.
    expect(log).toContain('"event":"gateway_audit"');
    for (const secret of [stack.spicedb.token, ...Object.values(stack.tokens)])
      expect(log).not.toContain(secret);
  }, 30_000);
});
