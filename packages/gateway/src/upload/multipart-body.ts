import type { FastifyRequest } from 'fastify';
import { checkFilename, show } from './filename.js';
import { FormParts } from './form-parts.js';
import { UploadError } from './upload-error.js';
import { incomplete, type ScannedFile, tooLarge, type UploadReader } from './upload-reader.js';

/** Form fields an upload form may carry besides its files (a description, a CSRF token). */
export const MAX_FIELDS = 32;
/** Bytes of one form field; fields are read into memory, so they stay small. */
export const MAX_FIELD_BYTES = 16 * 1024;
/** Header lines of one part (Content-Disposition, Content-Type and a few more). */
export const MAX_PART_HEADER_PAIRS = 32;

export interface MultipartLimits {
  readonly maxFiles: number;
  readonly maxFileSize: number;
}

/** busboy's limits for one request. */
export function multipartLimits(limits: MultipartLimits) {
  return {
    files: limits.maxFiles,
    // One byte over the limit reaches the reader, which answers 413 on it; busboy alone would
    // cut the file short and say so only once the form's next part is asked for.
    fileSize: limits.maxFileSize + 1,
    fields: MAX_FIELDS,
    fieldSize: MAX_FIELD_BYTES,
    parts: limits.maxFiles + MAX_FIELDS,
    headerPairs: MAX_PART_HEADER_PAIRS,
  };
}

/**
 * Every file of a multipart body (or only those under `field`), scanned one after another as
 * they arrive. Files under other fields are read past, unscanned; a part with an empty file
 * name and no bytes is a form's empty file input, and is skipped. Every part the body holds is
 * accounted for (FormParts reads the framing alongside the parser): one the parser would pass
 * over fails the request, as does a field cut at its size limit. Fails on the first bad part;
 * files scanned before it stay scanned (a quarantined one stays in the quarantine).
 */
export async function scanMultipart(
  request: FastifyRequest,
  reader: UploadReader,
  limits: MultipartLimits,
  field: string | undefined,
): Promise<ScannedFile[]> {
  const parts = request.parts({ limits: multipartLimits(limits), isPartAFile });
  const failed = (error: unknown) => multipartFailure(error, request, limits);
  const boundary = FormParts.boundaryOf(request.headers['content-type']);
  // Without a boundary the parser refuses the body itself.
  const framing =
    boundary === undefined ? undefined : new FormParts(boundary, (error) => reader.fail(error));
  const onData = (chunk: Buffer): void => {
    reader.received();
    framing?.write(chunk);
  };
  request.raw.on('data', onData);
  const scanned: ScannedFile[] = [];
  let delivered = 0;
  try {
    for (;;) {
      const step = await reader.next(parts.next(), failed);
      if (step.done === true) break;
      delivered += 1;
      const part = step.value;
      if (part.type !== 'file') {
        if (part.valueTruncated) throw reader.fail(fieldTooLarge(part.fieldname));
        continue;
      }
      const source = part.file[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
      if (field !== undefined && part.fieldname !== field) {
        await reader.skip(source, part.filename, failed);
        continue;
      }
      if (part.filename === '' && (await reader.skip(source, part.filename, failed)) === 0)
        continue;
      let filename: string;
      try {
        filename = checkFilename(part.filename);
      } catch (error) {
        throw error instanceof UploadError ? reader.fail(error) : error;
      }
      scanned.push(await reader.scan(source, filename, failed));
    }
  } finally {
    request.raw.removeListener('data', onData);
  }
  if (framing?.fault !== undefined) throw reader.fail(framing.fault);
  if (framing !== undefined && framing.count !== delivered) {
    throw reader.fail(
      new UploadError(
        'BREAKWATER_UPLOAD_MALFORMED',
        `The multipart body holds ${framing.count} parts, of which only ${delivered} could be read: send each part with Content-Disposition: form-data; name="..." as RFC 7578 describes`,
      ),
    );
  }
  if (scanned.length === 0) {
    const where = field === undefined ? '' : ` under the form field ${show(field)}`;
    throw reader.fail(
      new UploadError(
        'BREAKWATER_UPLOAD_NO_FILE',
        `The form has no file${where}: add the file as a part with a filename (curl -F '${field ?? 'file'}=@path')`,
      ),
    );
  }
  return scanned;
}

/** A part is a file when it has a filename; FormParts refuses a typed part without one. */
function isPartAFile(
  _field: string | undefined,
  _type: string | undefined,
  filename: string | undefined,
): boolean {
  return filename !== undefined;
}

function fieldTooLarge(name: string): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_FIELD_TOO_LARGE',
    `The form field ${show(name)} is longer than ${MAX_FIELD_BYTES} bytes: send a file as a part with a filename, not as a field`,
  );
}

/**
 * What an error from the form parser (or the connection under it) means for the client.
 * Everything it raises is about the body it was sent, so none of it is a server error.
 */
export function multipartFailure(
  error: unknown,
  request: FastifyRequest,
  limits: MultipartLimits,
): UploadError {
  if (error instanceof UploadError) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  switch (code) {
    case 'FST_FILES_LIMIT':
      return new UploadError(
        'BREAKWATER_UPLOAD_TOO_MANY_FILES',
        `The form has more than ${limits.maxFiles} files (limits.maxFiles): send the rest in another request`,
        { cause: error },
      );
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new UploadError(
        'BREAKWATER_UPLOAD_TOO_MANY_PARTS',
        `The form has more than ${MAX_FIELDS} fields or ${limits.maxFiles + MAX_FIELDS} parts: an upload needs its files and a few fields`,
        { cause: error },
      );
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(
        (error as { part?: { filename?: string } }).part?.filename ?? 'in the form',
        limits.maxFileSize,
      );
    case 'FST_MP_PREMATURE_CLOSE':
      return incomplete(error);
  }
  // A connection that closed part-way, or a form that stops before its closing boundary
  // (inside a file, busboy says either, depending on which of its streams notices first).
  const raw = request.raw;
  const cut = /terminated early|unexpected end/i.test(String(message));
  if (cut || (!raw.complete && (raw.destroyed || raw.aborted))) {
    return incomplete(error);
  }
  return new UploadError(
    'BREAKWATER_UPLOAD_MALFORMED',
    `The multipart body could not be read: ${String(message)}. Send multipart/form-data as RFC 7578 describes (a boundary in Content-Type, each part with Content-Disposition: form-data)`,
    { cause: error },
  );
}
