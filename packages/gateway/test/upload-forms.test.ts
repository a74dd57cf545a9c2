import { gzipSync } from 'node:zlib';
import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClamavRestJson, errorOf, filesOf, jsonOf } from './support/answers.js';
import { startTestGateway, startTestSpiceDb, type TestGateway } from './support/gateway-harness.js';
import { CLEAN_TEXT, EICAR } from './support/samples.js';

// Every part of a form is scanned or the request is refused: a part the form parser would pass
// over (and a body the gateway would scan still encoded) never ends in a 200 with that file unseen.

const BOUNDARY = 'breakwater-form-boundary';
let spicedb: EmbeddedSpiceDb;
let t: TestGateway;

beforeAll(async () => {
  spicedb = await startTestSpiceDb();
  t = await startTestGateway({ spicedb });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await spicedb?.close();
});

/** One part, its header lines as given. */
function part(headers: readonly string[], content: string | Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'),
    typeof content === 'string' ? Buffer.from(content, 'latin1') : content,
    Buffer.from('\r\n'),
  ]);
}

const clean = part(
  ['Content-Disposition: form-data; name="file"; filename="ok.txt"', 'Content-Type: text/plain'],
  CLEAN_TEXT,
);

function post(path: string, ...parts: Buffer[]) {
  return t.fetch(path, 'alice', {
    method: 'POST',
    body: Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]),
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
  });
}

const scans = '/v1/tenants/acme/scans';

async function refused(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  const error = await errorOf(response);
  expect(error.code).toBe(code);
  expect(t.logger.audits('scan').at(-1)).toMatchObject({ outcome: 'bad_request', code });
  return error.message;
}

describe('a part the form parser would pass over', () => {
  it('scans EICAR in a well-formed part (the control)', async () => {
    const eicar = part(
      ['Content-Disposition: form-data; name="file"; filename="eicar.com"'],
      EICAR,
    );
    const files = await filesOf(await post(scans, eicar, clean));
    expect(files.map((file) => [file.filename, file.decision])).toEqual([
      ['eicar.com', 'block'],
      ['ok.txt', 'allow'],
    ]);
  });

  it('refuses a part header past its limit with 400 naming it', async () => {
    const padded = part(
      [
        `X-Pad: ${'a'.repeat(81 * 1024)}`,
        'Content-Disposition: form-data; name="file"; filename="eicar.com"',
      ],
      EICAR,
    );
    const message = await refused(
      await post(scans, padded, clean),
      400,
      'BREAKWATER_UPLOAD_PART_HEADER_TOO_LARGE',
    );
    expect(message).toMatch(/8192 bytes/);
  });

  it('refuses a part whose Content-Disposition is not form-data, or missing', async () => {
    const attachment = part(
      ['Content-Disposition: attachment; name="file"; filename="eicar.com"'],
      EICAR,
    );
    expect(
      await refused(await post(scans, attachment, clean), 400, 'BREAKWATER_UPLOAD_MALFORMED'),
    ).toMatch(/part 1 .*form-data/);
    const none = part(['Content-Type: application/octet-stream'], EICAR);
    expect(
      await refused(await post(scans, clean, none), 400, 'BREAKWATER_UPLOAD_MALFORMED'),
    ).toMatch(/part 2 has no Content-Disposition/);
  });

  it('refuses a bare line feed in a part header, a filename* parameter, and a typed part with no filename', async () => {
    const lf = part(['Content-Disposition: form-data; name="file"; filename="evil\n.com"'], EICAR);
    expect(await refused(await post(scans, lf, clean), 400, 'BREAKWATER_UPLOAD_MALFORMED')).toMatch(
      /line break/,
    );
    const star = part(
      [
        'Content-Disposition: form-data; name="file"; filename="ok.txt"; filename*=UTF-8\'\'eicar.com',
      ],
      EICAR,
    );
    expect(await refused(await post(scans, star), 400, 'BREAKWATER_UPLOAD_MALFORMED')).toMatch(
      /filename\*/,
    );
    const nameless = part(
      ['Content-Disposition: form-data; name="file"', 'Content-Type: application/x-msdownload'],
      EICAR,
    );
    expect(
      await refused(await post(scans, nameless, clean), 400, 'BREAKWATER_UPLOAD_MALFORMED'),
    ).toMatch(/no filename/);
  });

  it('refuses a form field past its size limit rather than reading it cut short', async () => {
    const field = part(['Content-Disposition: form-data; name="note"'], 'x'.repeat(17 * 1024));
    await refused(await post(scans, field, clean), 413, 'BREAKWATER_UPLOAD_FIELD_TOO_LARGE');
  });

  it("answers the clamav-rest-api route in its shape: a FILES part it cannot read is an error, never 'not infected'", async () => {
    const lf = part(['Content-Disposition: form-data; name="FILES"; filename="evil\n.com"'], EICAR);
    const ok = part(
      ['Content-Disposition: form-data; name="FILES"; filename="ok.txt"'],
      CLEAN_TEXT,
    );
    const response = await post('/api/v1/scan', lf, ok);
    expect(response.status).toBe(400);
    const body = await jsonOf<ClamavRestJson>(response);
    expect(body.success).toBe(false);
    expect(body.data.code).toBe('BREAKWATER_UPLOAD_MALFORMED');
    expect(body.data.result).toBeUndefined();
  });
});

describe('encoded bodies, which the gateway does not decode', () => {
  it('refuses a raw body with a Content-Encoding with 415 naming it', async () => {
    const response = await t.fetch(scans, 'alice', {
      method: 'POST',
      body: gzipSync(EICAR),
      headers: {
        'content-type': 'application/octet-stream',
        'content-encoding': 'gzip',
        'x-filename': 'eicar.com',
      },
    });
    expect(await refused(response, 415, 'BREAKWATER_UPLOAD_UNSUPPORTED_ENCODING')).toMatch(
      /Content-Encoding gzip/,
    );
  });

  it('takes Content-Encoding: identity', async () => {
    const response = await t.fetch(scans, 'alice', {
      method: 'POST',
      body: EICAR,
      headers: { 'content-encoding': 'identity', 'x-filename': 'eicar.com' },
    });
    expect((await filesOf(response)).map((file) => file.decision)).toEqual(['block']);
  });

  it('refuses a part in base64 or quoted-printable with 415 naming it; 7bit, 8bit and binary are scanned', async () => {
    const base64 = part(
      [
        'Content-Disposition: form-data; name="file"; filename="eicar.com"',
        'Content-Transfer-Encoding: base64',
      ],
      Buffer.from(EICAR).toString('base64'),
    );
    expect(
      await refused(
        await post(scans, clean, base64),
        415,
        'BREAKWATER_UPLOAD_UNSUPPORTED_ENCODING',
      ),
    ).toMatch(/Content-Transfer-Encoding "base64"/);
    const qp = part(
      [
        'Content-Disposition: form-data; name="file"; filename="eicar.com"',
        'Content-Transfer-Encoding: quoted-printable',
      ],
      EICAR.replace('=', '=3D'),
    );
    await refused(await post(scans, qp), 415, 'BREAKWATER_UPLOAD_UNSUPPORTED_ENCODING');
    const binary = ['7bit', '8BIT', 'binary'].map((encoding) =>
      part(
        [
          `Content-Disposition: form-data; name="file"; filename="eicar-${encoding}.com"`,
          `Content-Transfer-Encoding: ${encoding}`,
        ],
        EICAR,
      ),
    );
    const files = await filesOf(await post(scans, ...binary));
    expect(files.map((file) => file.decision)).toEqual(['block', 'block', 'block']);
  });
});
