import { MockScanner, YaraScanner } from '@breakwater/scanbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FIELDS } from '../src/upload/multipart-body.js';
import {
  answers,
  buildManager,
  type Dirs,
  EICAR,
  EICAR_RULE,
  form,
  head,
  LIMITS,
  MULTIPART,
  makeDirs,
  type Outcome,
  part,
  RawClient,
  refusal,
  send,
  startApp,
  type TestApp,
} from './upload-harness.js';

let dirs: Dirs;
let yara: YaraScanner;
let mock: MockScanner;
let server: TestApp;

beforeAll(async () => {
  dirs = await makeDirs();
  yara = new YaraScanner({ rules: EICAR_RULE, spoolDir: dirs.spool });
  mock = MockScanner.clean();
  server = await startApp(buildManager([yara, mock], dirs));
});

afterAll(async () => {
  try {
    await server?.close();
    await yara?.close();
  } finally {
    await dirs?.remove();
  }
});

// Whatever a request did, it leaves no spooled copy behind.
afterEach(async () => {
  expect(await dirs.spooled()).toEqual([]);
});

function errorOf(outcome: Outcome) {
  if (!('error' in outcome))
    throw new Error(`expected an UploadError, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

async function quarantineCount(): Promise<number> {
  return (await dirs.quarantined()).filter((name) => name.endsWith('.json')).length;
}

describe('raw bodies', () => {
  it('scans the body as one file named by X-Filename, and allows a clean one', async () => {
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': 'application/octet-stream', 'X-Filename': 'notes.txt' },
      'just some notes',
    );
    expect(response.status).toBe(200);
    expect(answers(response)).toEqual([
      { filename: 'notes.txt', size: 15, decision: 'allow', quarantineId: null },
    ]);
    const outcome = await server.nextOutcome();
    expect(outcome).toHaveProperty('files');
  });

  it('quarantines an infected body: the policy decides once the whole file is in', async () => {
    const before = await quarantineCount();
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': 'application/octet-stream', 'X-Filename': 'eicar.com' },
      EICAR,
    );
    expect(response.status).toBe(200);
    const [file] = answers(response);
    expect(file).toMatchObject({
      filename: 'eicar.com',
      size: EICAR.length,
      decision: 'quarantine',
    });
    expect(file?.quarantineId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await dirs.quarantined()).toContain(`${file?.quarantineId}.bin`);
    expect(await quarantineCount()).toBe(before + 1);
    await server.nextOutcome();
  });

  it('streams a body of any type, application/json and text/plain too, unparsed', async () => {
    for (const type of ['application/json', 'text/plain', 'image/png']) {
      const response = await send(
        server.port,
        '/scan',
        { 'Content-Type': type, 'X-Filename': 'not-json.json' },
        '{ this is not json',
      );
      expect(response.status, type).toBe(200);
      expect(answers(response)[0]).toMatchObject({ size: 18, decision: 'allow' });
      await server.nextOutcome();
    }
  });

  it('leaves body parsing alone outside the scan routes', async () => {
    const response = await send(
      server.port,
      '/json',
      { 'Content-Type': 'application/json' },
      '{"a":1}',
    );
    expect(JSON.parse(response.body)).toEqual({ echo: { a: 1 } });
  });

  it('takes a percent-encoded or raw UTF-8 X-Filename', async () => {
    const encoded = await send(
      server.port,
      '/scan',
      { 'X-Filename': encodeURIComponent('résumé 2024.pdf') },
      'cv',
    );
    expect(answers(encoded)[0]?.filename).toBe('résumé 2024.pdf');
    await server.nextOutcome();
    const raw = await send(
      server.port,
      '/scan',
      { 'X-Filename': Buffer.from('日本.txt').toString('latin1') },
      'hi',
    );
    expect(answers(raw)[0]?.filename).toBe('日本.txt');
    await server.nextOutcome();
  });

  it('refuses a raw body without X-Filename with 400, before reading it', async () => {
    const response = await send(server.port, '/scan', { 'Content-Type': 'application/pdf' }, 'x');
    expect(response.status).toBe(400);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_FILENAME_REQUIRED');
    expect(refusal(response).message).toContain('X-Filename');
    await server.nextOutcome();
  });

  it.each([
    ['../../etc/passwd', 'path separator'],
    ['..%2F..%2Fetc%2Fpasswd', 'path separator'],
    ['evil%00.txt', 'control character'],
    ['bell%07.txt', 'control character'],
    ['..', 'not a file name'],
    [`${'a'.repeat(256)}`, '256 bytes long'],
  ])('refuses the name %j with 400 naming it, and keeps nothing', async (name, reason) => {
    const before = await quarantineCount();
    const response = await send(server.port, '/scan', { 'X-Filename': name }, EICAR);
    expect(response.status).toBe(400);
    expect(refusal(response)).toMatchObject({ code: 'BREAKWATER_UPLOAD_BAD_FILENAME' });
    expect(refusal(response).message).toContain(reason);
    expect(errorOf(await server.nextOutcome()).code).toBe('BREAKWATER_UPLOAD_BAD_FILENAME');
    expect(await quarantineCount()).toBe(before);
  });

  it('refuses an empty body with 400: there is nothing to scan', async () => {
    const response = await send(server.port, '/scan', { 'X-Filename': 'empty.txt' });
    expect(response.status).toBe(400);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_EMPTY');
    await server.nextOutcome();
    const chunked = await sendChunked(['0\r\n\r\n'], 'empty.txt');
    expect(chunked.status).toBe(400);
    expect(refusal(chunked).code).toBe('BREAKWATER_UPLOAD_EMPTY');
    await server.nextOutcome();
  });
});

async function sendChunked(chunks: readonly string[], filename: string) {
  const client = new RawClient(server.port);
  await client.write(head('/scan', { 'Transfer-Encoding': 'chunked', 'X-Filename': filename }));
  for (const chunk of chunks) await client.write(chunk);
  const response = await client.response;
  client.destroy();
  return response;
}

describe('multipart bodies', () => {
  it('scans one file', async () => {
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(part('upload', 'photo.jpg', 'jpeg bytes')),
    );
    expect(response.status).toBe(200);
    expect(answers(response)).toEqual([
      { filename: 'photo.jpg', size: 10, decision: 'allow', quarantineId: null },
    ]);
    await server.nextOutcome();
  });

  it('scans three files under any fields, in order, each decided on its own', async () => {
    const before = await quarantineCount();
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(
        part('note', undefined, 'a text field, not a file'),
        part('a', 'one.txt', 'first'),
        part('b', 'eicar.txt', EICAR),
        part('a', 'three.txt', 'third file'),
      ),
    );
    expect(response.status).toBe(200);
    const files = answers(response);
    expect(files.map((f) => f.filename)).toEqual(['one.txt', 'eicar.txt', 'three.txt']);
    expect(files.map((f) => f.decision)).toEqual(['allow', 'quarantine', 'allow']);
    expect(files.map((f) => f.size)).toEqual([5, EICAR.length, 10]);
    expect(await quarantineCount()).toBe(before + 1);
    await server.nextOutcome();
  });

  it('on the clamav-rest-api route, scans only the files under FILES', async () => {
    const scansBefore = mock.scanCount;
    const response = await send(
      server.port,
      '/api/v1/scan',
      { 'Content-Type': MULTIPART },
      form(
        part('other', 'ignored.txt', EICAR),
        part('FILES', 'a.txt', 'aaa'),
        part('FILES', 'b.txt', 'bbbb'),
      ),
    );
    expect(response.status).toBe(200);
    expect(answers(response).map((f) => f.filename)).toEqual(['a.txt', 'b.txt']);
    expect(mock.scanCount - scansBefore).toBe(2);
    await server.nextOutcome();
  });

  it('answers 400 when the form has no file (or none under FILES)', async () => {
    const fieldsOnly = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(part('comment', undefined, 'no file here')),
    );
    expect(fieldsOnly.status).toBe(400);
    expect(refusal(fieldsOnly).code).toBe('BREAKWATER_UPLOAD_NO_FILE');
    await server.nextOutcome();

    const wrongField = await send(
      server.port,
      '/api/v1/scan',
      { 'Content-Type': MULTIPART },
      form(part('file', 'a.txt', 'aaa')),
    );
    expect(wrongField.status).toBe(400);
    expect(refusal(wrongField).message).toContain('under the form field "FILES"');
    await server.nextOutcome();

    const nothing = await send(server.port, '/scan', { 'Content-Type': MULTIPART });
    expect(refusal(nothing).code).toBe('BREAKWATER_UPLOAD_NO_FILE');
    await server.nextOutcome();
  });

  it("skips a form's empty file input (no name, no bytes) and scans the rest", async () => {
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(part('first', '', ''), part('second', 'real.txt', 'content')),
    );
    expect(answers(response).map((f) => f.filename)).toEqual(['real.txt']);
    await server.nextOutcome();
  });

  it('refuses a raw body on the route that takes only multipart with 415', async () => {
    const response = await send(server.port, '/api/v1/scan', { 'X-Filename': 'a.txt' }, 'abc');
    expect(response.status).toBe(415);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_UNSUPPORTED_MEDIA_TYPE');
    await server.nextOutcome();
  });

  it.each([
    ['../secret.txt', 'path separator'],
    ['..\\secret.txt', 'path separator'],
    ['tab\there.txt', 'control character'],
  ])(
    'refuses the part name %j with 400 (a path is never stripped to its base name)',
    async (name, reason) => {
      const before = await quarantineCount();
      const response = await send(
        server.port,
        '/scan',
        { 'Content-Type': MULTIPART },
        form(part('file', name, EICAR)),
      );
      expect(response.status).toBe(400);
      expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_BAD_FILENAME');
      expect(refusal(response).message).toContain(reason);
      await server.nextOutcome();
      expect(await quarantineCount()).toBe(before);
    },
  );

  it('answers 400 to a body that is not multipart at all', async () => {
    const noBoundary = await send(
      server.port,
      '/scan',
      { 'Content-Type': 'multipart/form-data' },
      'whatever',
    );
    expect(noBoundary.status).toBe(400);
    expect(refusal(noBoundary).code).toBe('BREAKWATER_UPLOAD_MALFORMED');
    expect(refusal(noBoundary).message).toContain('Boundary not found');
    await server.nextOutcome();
  });

  it('answers 413 past maxFiles; the files before it were scanned', async () => {
    const parts = Array.from({ length: LIMITS.maxFiles + 1 }, (_, i) =>
      part('f', `file-${i}.txt`, `content ${i}`),
    );
    const scansBefore = mock.scanCount;
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(...parts),
    );
    expect(response.status).toBe(413);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TOO_MANY_FILES');
    expect(refusal(response).message).toContain(`more than ${LIMITS.maxFiles} files`);
    expect(mock.scanCount - scansBefore).toBe(LIMITS.maxFiles);
    await server.nextOutcome();
  });

  it('answers 413 to a form with more fields than an upload needs', async () => {
    const fields = Array.from({ length: MAX_FIELDS + 1 }, (_, i) => part(`f${i}`, undefined, 'v'));
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(...fields, part('file', 'a.txt', 'content')),
    );
    expect(response.status).toBe(413);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TOO_MANY_PARTS');
    await server.nextOutcome();
  });

  it('answers 413 to a file past maxFileSize in a form, as soon as it passes', async () => {
    const big = Buffer.alloc(LIMITS.maxFileSize + 1, 0x61);
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(part('file', 'big.bin', big)),
    );
    expect(response.status).toBe(413);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_TOO_LARGE');
    expect(refusal(response).message).toContain('"big.bin"');
    await server.nextOutcome();
  });

  it('fails the whole request on a bad second file; the first, complete and audited, stays quarantined', async () => {
    const before = await quarantineCount();
    const response = await send(
      server.port,
      '/scan',
      { 'Content-Type': MULTIPART },
      form(part('a', 'eicar.com', EICAR), part('b', '../../escape.txt', 'x')),
    );
    expect(response.status).toBe(400);
    expect(refusal(response).code).toBe('BREAKWATER_UPLOAD_BAD_FILENAME');
    expect(await quarantineCount()).toBe(before + 1);
    await server.nextOutcome();
  });
});
