import { ScanError } from '@breakwater/scanbridge';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorAnswer } from '../src/server/error-answer.js';
import { UploadError } from '../src/upload/index.js';
import { CapturingLogger } from './support/capturing-logger.js';

const request = {
  id: 'req-1',
  method: 'POST',
  routeOptions: { url: '/v1/tenants/:tenant/scans' },
} as unknown as FastifyRequest;

describe('errorAnswer for a failed scan', () => {
  it('answers a 413 an engine gave with its name and kind; what it said goes to the log', () => {
    const said = 'vt: VirusTotal POST https://vt.internal.example/api/v3/files answered 413';
    const cause = new ScanError(
      'file_too_large',
      `No engine could scan the file: vt: file_too_large (${said})`,
      {
        failures: [
          { engine: 'vt', error: new ScanError('file_too_large', said, { engine: 'vt' }) },
        ],
      },
    );
    const error = new UploadError(
      'BREAKWATER_UPLOAD_TOO_LARGE',
      `The file "a.bin" is too large to scan: ${cause.message}`,
      { cause },
    );
    const logger = new CapturingLogger();
    const answer = errorAnswer(error, request, logger);
    expect(answer).toMatchObject({
      statusCode: 413,
      code: 'BREAKWATER_UPLOAD_TOO_LARGE',
      message:
        'The file "a.bin" is too large to scan: vt: file_too_large. The gateway\'s log has the details under request id req-1',
    });
    expect(logger.entries).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({
          event: 'gateway_scan_failed',
          requestId: 'req-1',
          error: cause.message,
        }),
      }),
    ]);
  });

  it("keeps the gateway's own size limit in the 413: it is the client's to know", () => {
    const cause = new ScanError(
      'file_too_large',
      'the upload is too large: the limit is 100 bytes and it has more than that',
    );
    const error = new UploadError(
      'BREAKWATER_UPLOAD_TOO_LARGE',
      `The file "a.bin" is too large to scan: ${cause.message}`,
      { cause },
    );
    const logger = new CapturingLogger();
    expect(errorAnswer(error, request, logger).message).toBe(error.message);
    expect(logger.entries).toEqual([]);
  });
});
