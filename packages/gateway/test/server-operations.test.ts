import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayOptions, startGateway } from '../src/server/gateway.js';
import { type ErrorJson, jsonOf, type ReadyJson } from './support/answers.js';
import { CapturingLogger } from './support/capturing-logger.js';
import { startTestGateway, type TestGateway } from './support/gateway-harness.js';
import { CLEAN_TEXT, EICAR } from './support/samples.js';

const DASHBOARD_TOKEN = 'dashboard-admin-token-0123456789';
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ dashboardToken: DASHBOARD_TOKEN });
  for (const [name, text] of [
    ['clean.txt', CLEAN_TEXT],
    ['eicar.com', EICAR],
  ] as const) {
    await t.fetch('/v1/tenants/acme/scans', 'alice', {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/octet-stream', 'x-filename': name },
    });
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** What `promtool check metrics` says of `text` on stdin: its exit code and output. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/promtool', ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('health', () => {
  it('/healthz says ok while the process serves', async () => {
    const response = await t.fetch('/healthz', undefined);
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toEqual({ status: 'ok' });
  });

  it('/readyz lists every breaker: the engine and spicedb, both critical', async () => {
    const response = await t.fetch('/readyz', undefined);
    expect(response.status).toBe(200);
    const body = await jsonOf<ReadyJson>(response);
    expect(body.status).toBe('healthy');
    expect(body.breakers).toEqual([
      { name: 'yara', state: 'closed', criticality: 'critical', status: 'healthy' },
      { name: 'spicedb', state: 'closed', criticality: 'critical', status: 'healthy' },
    ]);
  });

  it('/readyz is 503 while SpiceDB is held open: nobody can be authorized', async () => {
    const spicedb = t.gateway.registry.find('spicedb');
    spicedb?.forceOpen();
    try {
      const response = await t.fetch('/readyz', undefined);
      expect(response.status).toBe(503);
      expect((await jsonOf<ReadyJson>(response)).status).toBe('critical');
    } finally {
      spicedb?.forceClose();
    }
  });
});

describe('/metrics', () => {
  it('serves breakers, scans and authorization in a form promtool accepts', async () => {
    const response = await t.fetch('/metrics', undefined);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^breakwater_circuit_state\{breaker="yara",state="closed"\} 1$/m);
    expect(text).toMatch(/^breakwater_circuit_state\{breaker="spicedb",state="closed"\} 1$/m);
    expect(text).toMatch(/^scanbridge_scans_total\{engine="yara",outcome="infected"\} 1$/m);
    expect(text).toMatch(/^scanbridge_decisions_total\{action="block"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^authorization_check_total\{result="allowed",source="spicedb"\} \d+$/m);
    const checked = await promtool(text);
    expect(checked.output).not.toMatch(/error/i);
    expect(checked.code).toBe(0);
  });
});

describe('/dashboard', () => {
  it('redirects the bare path to the page, and serves the page', async () => {
    const bare = await fetch(`${t.url}/dashboard`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    const page = await t.fetch('/dashboard/', undefined);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('/dashboard/breakers shows both breakers and the scans and authorization panels', async () => {
    const response = await t.fetch('/dashboard/breakers', undefined);
    expect(response.status).toBe(200);
    const body = await jsonOf<{
      controls: boolean;
      breakers: { name: string; state: string }[];
      scans: unknown;
      authorization: unknown;
    }>(response);
    expect(body.breakers.map((b) => [b.name, b.state])).toEqual([
      ['yara', 'closed'],
      ['spicedb', 'closed'],
    ]);
    expect(body.controls).toBe(true);
    expect(body.scans).toMatchObject({ decisions: { block: 1, allow: 1 } });
    expect(body.authorization).not.toBeNull();
  });

  it("opens a breaker with the dashboard's admin token, and not without it", async () => {
    const refused = await fetch(`${t.url}/dashboard/breakers/yara/open`, { method: 'POST' });
    expect(refused.status).toBe(401);
    const opened = await fetch(`${t.url}/dashboard/breakers/yara/open`, {
      method: 'POST',
      headers: { 'x-breakwater-token': DASHBOARD_TOKEN },
    });
    expect(opened.status).toBe(200);
    expect(t.gateway.registry.find('yara')?.state().name).toBe('open');
    t.gateway.registry.find('yara')?.forceClose();
    expect(t.logger.text()).not.toContain(DASHBOARD_TOKEN);
  });
});

describe('/dashboard behind a name', () => {
  it('answers the host names of dashboard.allowedHosts, and only those', async () => {
    const named = await startTestGateway({
      spicedb: t.spicedb,
      config: { dashboard: { allowedHosts: ['gateway.example.com'] } },
    });
    try {
      const port = named.gateway.port;
      const status = async (target: string, host: string) =>
        (await rawGet(target, '/dashboard/', { host })).status;
      expect(await status(named.url, `gateway.example.com:${port}`)).toBe(200);
      expect(await status(named.url, 'GATEWAY.example.com')).toBe(200);
      // The gateway's own default refuses a name it was not told: a DNS rebinding guard.
      expect(await status(named.url, 'other.example.com')).toBe(421);
      expect(await status(t.url, 'gateway.example.com')).toBe(421);
    } finally {
      await named.close();
    }
  }, 30_000);
});

describe('with metrics and the dashboard turned off', () => {
  it('serves neither, and the API as before', async () => {
    const bare = await startTestGateway({
      spicedb: t.spicedb,
      config: { metrics: { enabled: false }, dashboard: { enabled: false } },
    });
    try {
      expect(bare.gateway.metrics).toBeUndefined();
      for (const path of ['/metrics', '/dashboard/', '/dashboard/breakers']) {
        const response = await bare.fetch(path, undefined);
        expect(response.status, path).toBe(404);
        expect((await jsonOf<ErrorJson>(response)).error.code).toBe('BREAKWATER_NOT_FOUND');
      }
      expect((await bare.fetch('/readyz', undefined)).status).toBe(200);
    } finally {
      await bare.close();
    }
  }, 30_000);
});

describe('errors', () => {
  it('answers a method a path does not take 404 in JSON, never with a stack', async () => {
    const response = await t.fetch('/v1/tenants/acme/quarantine', 'rita', { method: 'PUT' });
    expect(response.status).toBe(404);
    const body = await jsonOf<ErrorJson>(response);
    expect(body.error.code).toBe('BREAKWATER_NOT_FOUND');
    expect(JSON.stringify(body)).not.toContain('    at ');
  });

  it("answers a path the router refuses in the gateway's error shape, with X-Request-Id", async () => {
    const badEscape = await rawGet(t.url, '/v1/tenants/%E0%A4%A/quarantine');
    expect(badEscape.status).toBe(400);
    expect(badEscape.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(badEscape.body)).toEqual({
      error: {
        code: 'BREAKWATER_BAD_URL',
        message:
          "The request's path is not a valid URL: a % escape that is not UTF-8 (encode the path as RFC 3986 says)",
      },
    });
    const long = await rawGet(t.url, `/v1/tenants/${'a'.repeat(2049)}/quarantine`);
    expect(long.status).toBe(414);
    expect(long.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(long.body)).toEqual({
      error: {
        code: 'BREAKWATER_URL_TOO_LONG',
        message:
          "A segment of the request's path is longer than 2048 characters (a tenant id has at most 1024)",
      },
    });
  });

  it("gives the dashboard's answers an X-Request-Id too", async () => {
    for (const path of ['/dashboard/', '/dashboard/breakers', '/dashboard/nope']) {
      const answer = await rawGet(t.url, path);
      expect(answer.requestId, path).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('close()', () => {
  it('stops serving, resolves every call with the same promise, and takes its breakers away', async () => {
    const other = await startTestGateway({ spicedb: t.spicedb });
    try {
      const first = other.gateway.close();
      expect(other.gateway.close()).toBe(first);
      await first;
      await expect(fetch(`${other.url}/healthz`)).rejects.toThrow();
      expect(other.gateway.registry.find('yara')).toBeUndefined();
    } finally {
      await other.close();
    }
  }, 30_000);

  it('lets a request in flight finish before it resolves', async () => {
    const other = await startTestGateway({ spicedb: t.spicedb });
    try {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      // A body that waits: the request is in flight when close() is called.
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode('first half, '));
          await held;
          controller.enqueue(new TextEncoder().encode('second half'));
          controller.close();
        },
      });
      const answer = other.fetch('/v1/tenants/acme/scans', 'alice', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream', 'x-filename': 'slow.txt' },
        duplex: 'half',
      } as RequestInit);
      await expect.poll(() => scanStarted(other)).toBe(true);
      let closed = false;
      const closing = other.gateway.close().then(() => {
        closed = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed).toBe(false);
      release();
      const response = await answer;
      expect(response.status).toBe(200);
      expect((await jsonOf<{ files: { decision: string }[] }>(response)).files[0]?.decision).toBe(
        'allow',
      );
      await closing;
      expect(closed).toBe(true);
    } finally {
      await other.close();
    }
  }, 30_000);
});

describe('startGateway options', () => {
  it('refuses an unknown option and a bad grace period before starting anything', async () => {
    await expect(startGateway(t.config, { loger: undefined } as GatewayOptions)).rejects.toThrow(
      /unknown option "loger"/,
    );
    await expect(startGateway(t.config, { closeGraceMs: -1 })).rejects.toThrow(RangeError);
  });

  it('refuses a token subject the schema gives no tenant permission to, without starting', async () => {
    const [first] = t.config.tokens;
    if (first === undefined) throw new Error('the test gateway has tokens');
    const failed = await startGateway(
      { ...t.config, tokens: [{ ...first, subject: 'service:ci' }] },
      { logger: new CapturingLogger() },
    ).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failed).toMatchObject({ name: 'GatewayStartError', phase: 'config' });
    expect(failed?.message).toBe(
      'tokens[0].subject: the gateway\'s schema (schema/schema.zed) grants tenant permissions to subjects of type user only, not "service"',
    );
  });

  it('refuses an engine named like the SpiceDB breaker, naming the engine', async () => {
    const [yara] = t.config.engines;
    if (yara === undefined) throw new Error('the test gateway has an engine');
    const logger = new CapturingLogger();
    const failed = await startGateway(
      { ...t.config, engines: [{ ...yara, name: 'spicedb' }] },
      { logger },
    ).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failed).toMatchObject({ name: 'GatewayStartError', phase: 'engines' });
    expect(failed?.message).toContain('engines[0].name "spicedb"');
  });
});

describe('close() past its grace period', () => {
  it('ends a request that is still sending, and its scan, without leaving a quarantine entry', async () => {
    const other = await startTestGateway({ spicedb: t.spicedb, closeGraceMs: 200 });
    try {
      // A body that sends a little and then nothing, for ever.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('never finished '));
        },
      });
      const answer = other
        .fetch('/v1/tenants/acme/scans', 'alice', {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/octet-stream', 'x-filename': 'stuck.txt' },
          duplex: 'half',
        } as RequestInit)
        .then(
          (response) => response.status,
          () => 'connection closed',
        );
      await expect.poll(() => scanStarted(other)).toBe(true);
      const started = performance.now();
      await other.gateway.close();
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(await answer).not.toBe(200);
      // close() resolved only after the scan settled: it failed, and was audited as the
      // gateway's doing (it stopped), not the client's.
      expect(other.gateway.manager.stats().scans).toEqual({ completed: 0, failed: 1 });
      expect(other.logger.audits('scan').at(-1)).toMatchObject({
        subject: 'user:alice',
        outcome: 'failed',
        code: 'BREAKWATER_UPLOAD_SHUTTING_DOWN',
      });
      await expect(readdir(other.config.quarantine.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await other.close();
    }
  }, 30_000);
});

/** Whether the scan has started: the manager's audit line is written as it starts reading. */
function scanStarted(target: TestGateway): boolean {
  return target.logger.entries.some((entry) => entry.fields.event === 'scan_started');
}

/**
 * GET `path` as sent, unencoded (fetch would fix a bad escape), with headers fetch may not set
 * (Host): the answer's status, request id and body.
 */
function rawGet(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; requestId: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const client = request(`${url}${path}`, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        const id = response.headers['x-request-id'];
        resolve({
          status: response.statusCode ?? 0,
          requestId: typeof id === 'string' ? id : undefined,
          body,
        });
      });
    });
    client.on('error', reject);
    client.end();
  });
}
