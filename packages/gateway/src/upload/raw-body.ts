import type { FastifyRequest } from 'fastify';
import { checkFilename } from './filename.js';
import { UploadError } from './upload-error.js';
import { incomplete, type ScannedFile, tooLarge, type UploadReader } from './upload-reader.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body itself is the file, named by `X-Filename`. A Content-Length past the limit is
 * refused before a byte is read; without one (chunked), the read stops as soon as the limit
 * is passed. Every byte goes straight to the scan manager, which spools it to a private file.
 */
export async function scanRawBody(
  request: FastifyRequest,
  reader: UploadReader,
  maxFileSize: number,
): Promise<ScannedFile[]> {
  let filename: string;
  let length: number | undefined;
  try {
    filename = checkFilename(filenameHeader(request));
    length = contentLength(request);
    if (length !== undefined && length > maxFileSize) throw tooLarge(filename, maxFileSize);
  } catch (error) {
    throw error instanceof UploadError ? reader.fail(error) : error;
  }
  // Not destroyed when the reader stops early: the request must live to carry the answer.
  const source = request.raw.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>;
  return [await reader.scan(source, filename, incomplete, length)];
}

/**
 * Why a body sent compressed (Content-Encoding gzip, br, ...) is refused rather than scanned as it came:
 * the engines would see the compressed bytes, not the file (a form, its compressed framing).
 */
export function encodingRefusal(request: FastifyRequest): UploadError | undefined {
  const header = request.headers['content-encoding'];
  if (header === undefined) return undefined;
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return undefined;
  return new UploadError(
    'BREAKWATER_UPLOAD_UNSUPPORTED_ENCODING',
    `The body has Content-Encoding ${codings.join(', ')}: the gateway does not decode bodies, and would scan the compressed bytes instead of the file; send the file's own bytes (no Content-Encoding)`,
  );
}

/**
 * `X-Filename`, percent-decoded when it is percent-encoded UTF-8 (what encodeURIComponent
 * writes, for names beyond ASCII in an ASCII header); raw UTF-8 bytes in the header (curl -H)
 * are read as UTF-8. Anything else is taken as it is, and checked as it is.
 */
export function filenameHeader(request: FastifyRequest): string {
  const header = request.headers['x-filename'];
  if (typeof header !== 'string') {
    throw new UploadError(
      'BREAKWATER_UPLOAD_FILENAME_REQUIRED',
      "A raw upload needs its file name in the X-Filename header (curl -H 'X-Filename: report.pdf' --data-binary @report.pdf), or send it as multipart/form-data",
    );
  }
  return decodeFilename(header);
}

export function decodeFilename(header: string): string {
  // Node reads header bytes as latin1: bytes of UTF-8 come back as one character each.
  let name = header;
  if (/[\u0080-\uffff]/.test(header)) {
    try {
      name = UTF8.decode(Buffer.from(header, 'latin1'));
    } catch {
      return header;
    }
  }
  if (!name.includes('%')) return name;
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function contentLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  // Node has already refused a malformed or doubled Content-Length with 400.
  return header === undefined ? undefined : Number(header);
}
