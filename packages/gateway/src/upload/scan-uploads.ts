import type { Clock } from '@breakwater/core';
import type { ScanContext, ScanManager } from '@breakwater/scanbridge';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/types.js';
import { show } from './filename.js';
import { scanMultipart } from './multipart-body.js';
import { encodingRefusal, scanRawBody } from './raw-body.js';
import { UploadError } from './upload-error.js';
import { type ScannedFile, UploadReader } from './upload-reader.js';

export interface ScanUploadsOptions {
  readonly manager: ScanManager;
  readonly limits: GatewayConfig['limits'];
  readonly context: ScanContext;
  /** Only files under this multipart field count (clamav-rest-api's `FILES`); the body must be multipart. Default: any field, or a raw body. */
  readonly field?: string | undefined;
  /**
   * Ends the reading and the scans: the client went away, or the gateway is stopping. One per
   * request: the request listens to it until it is over (a signal shared by more than ten
   * requests at once would draw Node's MaxListenersExceededWarning).
   */
  readonly signal: AbortSignal;
  /** For the body's timeouts; default the system clock. */
  readonly clock?: Clock | undefined;
}

/**
 * Every file of an upload request, scanned with the policy (and quarantined when it says so),
 * one after another as the body arrives; never held whole in memory. A multipart body gives
 * each of its files; any other body is one file named by `X-Filename`. Refusals are
 * UploadErrors (400, 408, 413, 415, 503); anything else thrown is a server error.
 *
 * Call it once authorization allows the upload: until then no byte of the body is read.
 */
export async function scanUploads(
  request: FastifyRequest,
  options: ScanUploadsOptions,
): Promise<ScannedFile[]> {
  const { manager, limits, context, field, signal, clock } = options;
  const reader = new UploadReader(request, { manager, limits, context, signal, clock });
  try {
    const encoded = encodingRefusal(request);
    if (encoded !== undefined) throw reader.fail(encoded);
    if (request.isMultipart()) return await scanMultipart(request, reader, limits, field);
    if (field !== undefined) {
      const contentType = request.headers['content-type'];
      throw reader.fail(
        new UploadError(
          'BREAKWATER_UPLOAD_UNSUPPORTED_MEDIA_TYPE',
          `This endpoint takes multipart/form-data with the files under the field ${show(field)}, not ${contentType === undefined ? 'a body without Content-Type' : show(contentType)}`,
        ),
      );
    }
    return await scanRawBody(request, reader, limits.maxFileSize);
  } catch (error) {
    discardBody(request);
    throw error;
  } finally {
    reader.dispose();
  }
}

/**
 * What is left of a refused body is read and dropped rather than left on the connection, so
 * the client is not stuck sending into a full window and reads its answer; the answer closes
 * the connection (see registerUploadParsers).
 */
function discardBody(request: FastifyRequest): void {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return;
  raw.unpipe();
  raw.resume();
}
