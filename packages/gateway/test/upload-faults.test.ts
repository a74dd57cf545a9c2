import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BreakerScanner,
  MockScanner,
  ScanError,
  withCircuitBreaker,
  YaraScanner,
} from '@breakwater/scanbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_AFTER_SECONDS } from '../src/upload/index.js';
import {
  answers,
  BOUNDARY,
  buildManager,
  type Dirs,
  EICAR,
  EICAR_RULE,
  form,
  head,
  LIMITS,
  type Limits,
  MULTIPART,
  makeDirs,
  type Outcome,
  part,
  RawClient,
  refusal,
  startApp,
  type TestApp,
} from './upload-harness.js';

let dirs: Dirs;
let yara: YaraScanner;
const apps: TestApp[] = [];

beforeAll(async () => {
  dirs = await makeDirs();
  yara = new YaraScanner({ rules: EICAR_RULE, spoolDir: dirs.spool });
});

afterAll(async () => {
  try {
    await Promise.all(apps.map((app) => app.close()));
    await yara?.close();
  } finally {
    await dirs?.remove();
  }
});

// Whatever a request did, it leaves no spooled copy and no quarantine entry behind: every file
// sent here is EICAR, which the policy quarantines whenever a whole copy of it is scanned.
afterEach(async () => {
  expect(await dirs.spooled()).toEqual([]);
  expect(await dirs.quarantined()).toEqual([]);
});

async function app(limits: Limits = LIMITS, signal?: AbortSignal): Promise<TestApp> {
  const started = await startApp(buildManager([yara], dirs, limits.maxFileSize), limits, signal);
  apps.push(started);
  return started;
}

function errorOf(outcome: Outcome) {
  if (!('error' in outcome))
    throw new Error(`expected an UploadError, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

describe('a body that stops half-way', () => {
  it('raw, Content-Length not reached, the client half-closes: 400 incomplete, EICAR not quarantined', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(
      head('/scan', { 'Content-Length': EICAR.length + 100, 'X-Filename': 'eicar.com' }),
    );
    // The whole of EICAR arrives; the body it announced does not.
    await client.write(EICAR);
    client.end();
    const response = await client.response;
    expect(response.status).toBe(400);
    const error = errorOf(await server.nextOutcome());
    expect(error.code).toBe('BREAKWATER_UPLOAD_INCOMPLETE');
    expect(error.statusCode).toBe(400);
  });

  it('raw, the client vanishes mid-body: no answer to give, nothing kept', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Length': 100_000, 'X-Filename': 'eicar.com' }));
    await client.write(EICAR);
    await sleep(20);
    client.destroy();
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_INCOMPLETE');
  });

  it('chunked, the connection ends inside a chunk: 400 incomplete', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Transfer-Encoding': 'chunked', 'X-Filename': 'e.com' }));
    await client.write(`${(EICAR.length + 10).toString(16)}\r\n${EICAR}`);
    client.end();
    expect((await client.response).status).toBe(400);
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_INCOMPLETE');
  });

  it('multipart, the connection ends inside the file: 400 incomplete', async () => {
    const server = await app();
    const body = form(part('file', 'eicar.com', `${EICAR}${'x'.repeat(50)}`));
    const cut = body.subarray(0, body.indexOf('xxxxx'));
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Type': MULTIPART, 'Content-Length': body.length }));
    await client.write(cut);
    client.end();
    expect((await client.response).status).toBe(400);
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_INCOMPLETE');
  });

  it('multipart, the body complete but the form ends inside the file: 400 incomplete', async () => {
    const server = await app();
    const cut = Buffer.concat([part('file', 'eicar.com', EICAR)]).subarray(0, -2);
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Type': MULTIPART, 'Content-Length': cut.length }));
    await client.write(cut);
    const response = await client.response;
    client.destroy();
    expect(response.status).toBe(400);
    expect(refusal(response).message).toContain('closing boundary');
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_INCOMPLETE');
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_INCOMPLETE');
  });
});

describe('413 past maxFileSize', () => {
  it('by Content-Length: answered before a byte of the body is sent, or read', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(
      head('/scan', { 'Content-Length': LIMITS.maxFileSize + 1, 'X-Filename': 'big.iso' }),
    );
    const response = await client.response;
    expect(response.status).toBe(413);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TOO_LARGE');
    expect(refusal(response).message).toContain(`larger than ${LIMITS.maxFileSize} bytes`);
    // The body will never come: the connection is not kept waiting for it.
    await client.closed();
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_TOO_LARGE');
  });

  it('chunked, without Content-Length: as soon as the stream passes the limit', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Transfer-Encoding': 'chunked', 'X-Filename': 'big.bin' }));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let answered = false;
    void client.response.then(() => {
      answered = true;
    });
    // Keeps sending, as a client streaming a file of unknown size would, until answered.
    while (!answered && sent < 4 * LIMITS.maxFileSize) {
      await client.write(
        Buffer.concat([
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        ]),
      );
      sent += chunk.length;
      await sleep(1);
    }
    const response = await client.response;
    expect(response.status).toBe(413);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TOO_LARGE');
    expect(sent).toBeLessThan(2 * LIMITS.maxFileSize);
    // The gateway closes its side once it has answered; the client, told, closes too.
    await client.closed();
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_TOO_LARGE');
  });
});

describe('408: slow and silent clients', () => {
  it('a client that sends nothing for idleTimeoutMs gets 408 idle', async () => {
    const server = await app({ ...LIMITS, idleTimeoutMs: 300, bodyTimeoutMs: 10_000 });
    const client = new RawClient(server.port);
    const started = Date.now();
    await client.write(head('/scan', { 'Content-Length': 1000, 'X-Filename': 'eicar.com' }));
    await client.write(EICAR);
    const response = await client.response;
    const waited = Date.now() - started;
    // A silent client is not waited for any longer: the gateway closes the connection.
    await client.closed();
    expect(response.status).toBe(408);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_IDLE');
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_IDLE');
  });

  it('a client that sends its headers and then nothing at all gets 408 idle', async () => {
    const server = await app({ ...LIMITS, idleTimeoutMs: 200, bodyTimeoutMs: 10_000 });
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Transfer-Encoding': 'chunked', 'X-Filename': 'x.bin' }));
    const response = await client.response;
    await client.closed();
    expect(response.status).toBe(408);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_IDLE');
    await server.nextOutcome();
  });

  it('a multipart client that goes silent inside a part gets 408 idle', async () => {
    const server = await app({ ...LIMITS, idleTimeoutMs: 300, bodyTimeoutMs: 10_000 });
    const client = new RawClient(server.port);
    const first = part('file', 'eicar.com', EICAR);
    await client.write(head('/scan', { 'Content-Type': MULTIPART, 'Content-Length': 10_000 }));
    await client.write(first.subarray(0, 40));
    const response = await client.response;
    client.destroy();
    expect(response.status).toBe(408);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_IDLE');
    await server.nextOutcome();
  });

  it('a client at 1 byte a second is not idle: the whole-body timeout ends it', async () => {
    const server = await app({ ...LIMITS, idleTimeoutMs: 2_000, bodyTimeoutMs: 3_500 });
    const client = new RawClient(server.port);
    const started = Date.now();
    await client.write(head('/scan', { 'Content-Length': EICAR.length, 'X-Filename': 'e.com' }));
    let sent = 0;
    let answered = false;
    void client.response.then(() => {
      answered = true;
    });
    while (!answered && sent < EICAR.length) {
      await client.write(EICAR.slice(sent, sent + 1));
      sent += 1;
      await Promise.race([sleep(1_000), client.response]);
    }
    const response = await client.response;
    const waited = Date.now() - started;
    client.destroy();
    expect(response.status).toBe(408);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TIMEOUT');
    expect(refusal(response).message).toContain(
      '3500 ms of waiting for the client (limits.bodyTimeoutMs',
    );
    expect(waited).toBeGreaterThanOrEqual(3_400);
    expect(sent).toBeGreaterThanOrEqual(3);
    expect(sent).toBeLessThan(EICAR.length);
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_TIMEOUT');
  }, 15_000);
});

describe('503: every engine down', () => {
  let first: MockScanner;
  let second: MockScanner;
  let breakers: BreakerScanner[];
  let server: TestApp;

  beforeAll(async () => {
    first = MockScanner.clean().withName('first');
    second = MockScanner.clean().withName('second');
    breakers = [
      withCircuitBreaker(first, { failureThreshold: 1, openDuration: 30_000 }),
      withCircuitBreaker(second, { failureThreshold: 1, openDuration: 12_500 }),
    ];
    server = await startApp(buildManager(breakers, dirs), LIMITS);
    apps.push(server);
  });

  async function upload(content: string) {
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Length': content.length, 'X-Filename': 'e.com' }));
    await client.write(content);
    const response = await client.response;
    client.destroy();
    return response;
  }

  it('answers 503 when every breaker is forced open; Retry-After the default (an operator decides)', async () => {
    for (const engine of breakers) engine.breaker.forceOpen();
    const response = await upload(EICAR);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe(String(DEFAULT_RETRY_AFTER_SECONDS));
    const body = refusal(response);
    expect(body.code).toBe('BREAKWATER_UPLOAD_ENGINES_UNAVAILABLE');
    expect(body.message).toContain('first: circuit_open');
    expect(body.message).toContain('second: circuit_open');
    const error = errorOf(await server.nextOutcome());
    expect(error.statusCode).toBe(503);
    expect(error.retryAfterSeconds).toBe(DEFAULT_RETRY_AFTER_SECONDS);
    expect(error.cause).toBeInstanceOf(ScanError);
    for (const engine of breakers) engine.breaker.reset();
  });

  it('answers 503 when every engine fails, then with the soonest reopening of their breakers', async () => {
    first.makeUnhealthy();
    second.makeUnhealthy();
    const failing = await upload('clean');
    expect(failing.status).toBe(503);
    expect(refusal(failing).message).toContain('engine_unavailable');
    expect(failing.headers['retry-after']).toBe(String(DEFAULT_RETRY_AFTER_SECONDS));
    await server.nextOutcome();
    // Both breakers opened on that failure: 30 s and 12.5 s from now.
    const open = await upload('clean');
    expect(open.status).toBe(503);
    expect(open.headers['retry-after']).toBe('13');
    expect(errorOf(await server.nextOutcome()).retryAfterSeconds).toBe(13);
    first.makeHealthy();
    second.makeHealthy();
  });

  it('is no error once an engine answers again: the policy decides', async () => {
    breakers[1]?.breaker.reset();
    const response = await upload('clean');
    expect(response.status).toBe(200);
    // One engine of two could not vouch for the file: the strict policy blocks it.
    expect(answers(response)[0]).toMatchObject({ filename: 'e.com', decision: 'block' });
    await server.nextOutcome();
  });
});

describe("an engine's own size limit", () => {
  it('answers 413 when every engine refuses the file as too large', async () => {
    const small = MockScanner.clean().withMaxFileSize(8);
    const server = await startApp(buildManager([small], dirs), LIMITS);
    apps.push(server);
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Length': 20, 'X-Filename': 'twenty.txt' }));
    await client.write('twenty bytes of text');
    const response = await client.response;
    client.destroy();
    expect(response.status).toBe(413);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TOO_LARGE');
    expect(refusal(response).message).toContain('"twenty.txt" is too large to scan');
    await server.nextOutcome();
  });
});

describe('the connection', () => {
  it('closes after an answer given before the body was read, which the client still gets', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(head('/refused', { 'Content-Length': 64 * 1024 * 1024, 'X-Filename': 'a' }));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let answered = false;
    void client.response.then(() => {
      answered = true;
    });
    for (let i = 0; i < 200 && !answered; i++) {
      await client.write(chunk);
      await sleep(1);
    }
    const response = await client.response;
    expect(response.status).toBe(403);
    await client.closed();
  });

  it('stays open for the next request after a body read to its end', async () => {
    const server = await app();
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Length': 5, 'X-Filename': 'a.txt' }));
    await client.write('first');
    // Both answers arrive on the one connection.
    const second = Buffer.concat([
      head('/scan', { 'Content-Length': 6, 'X-Filename': 'b.txt' }),
      Buffer.from('second'),
    ]);
    await server.nextOutcome();
    await client.write(second);
    await server.nextOutcome();
    const answers = () => client.text().match(/HTTP\/1\.1 200 OK/g)?.length ?? 0;
    for (let i = 0; i < 100 && answers() < 2; i++) await sleep(10);
    expect(client.socket.closed).toBe(false);
    client.destroy();
    expect(answers()).toBe(2);
  });
});

describe("the caller's signal (the gateway stopping)", () => {
  it('ends an upload whose body is still coming, with its reason, and nothing is kept', async () => {
    const stopping = new AbortController();
    const server = await app(LIMITS, stopping.signal);
    const client = new RawClient(server.port);
    await client.write(head('/scan', { 'Content-Length': 100_000, 'X-Filename': 'eicar.com' }));
    await client.write(EICAR);
    // The upload is being read once it listens to the signal.
    for (let i = 0; i < 200 && getEventListeners(stopping.signal, 'abort').length === 0; i++)
      await sleep(5);
    const reason = new Error('the gateway is stopping');
    stopping.abort(reason);
    const outcome = await server.nextOutcome();
    client.destroy();
    if (!('error' in outcome))
      throw new Error(`expected an UploadError, got ${JSON.stringify(outcome)}`);
    // A reason other than the client going away is the gateway stopping: 503, not a 500.
    expect(outcome.error).toMatchObject({
      code: 'BREAKWATER_UPLOAD_SHUTTING_DOWN',
      statusCode: 503,
      cause: reason,
    });
  });

  it('holds no listener on the signal once an upload is answered', async () => {
    const signal = new AbortController().signal;
    const server = await app(LIMITS, signal);
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      const client = new RawClient(server.port);
      await client.write(head('/scan', { 'Content-Length': 5, 'X-Filename': name }));
      await client.write('clean');
      expect((await client.response).status).toBe(200);
      client.destroy();
      expect(answers(await client.response)[0]?.decision).toBe('allow');
      await server.nextOutcome();
    }
    expect(getEventListeners(signal, 'abort')).toEqual([]);
  });
});

describe('a multipart form', () => {
  it(`keeps reading after a bad part only to drop it (boundary ${BOUNDARY})`, async () => {
    const server = await app();
    const client = new RawClient(server.port);
    const body = form(part('a', '../x', EICAR), part('b', 'fine.txt', 'x'.repeat(200_000)));
    await client.write(head('/scan', { 'Content-Type': MULTIPART, 'Content-Length': body.length }));
    await client.write(body);
    const response = await client.response;
    client.destroy();
    expect(response.status).toBe(400);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_BAD_FILENAME');
    await server.nextOutcome();
  });
});
