import { show } from './filename.js';
import { UploadError } from './upload-error.js';

/** Bytes of one part's header block: a Content-Disposition with a long name and a few more lines. */
export const MAX_PART_HEADER_BYTES = 8 * 1024;
/** The Content-Transfer-Encodings that leave a part's bytes as they are (RFC 7578 §4.7). */
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const DASH = 0x2d;

type State = 'body' | 'delimiter' | 'header' | 'closed';

/**
 * The multipart framing, read alongside the form parser from the same bytes, with the same
 * delimiter search (`CRLF--boundary`, the body read as if it began with a CRLF): it counts the
 * parts the body holds and checks each part's header itself, because busboy passes over, with
 * no event at all, a part whose header it cuts short, whose disposition is not form-data, or
 * whose name has a bare line break. The route compares the count with the parts it was given.
 * The first fault is handed to `onFault` as it arrives, and kept.
 */
export class FormParts {
  private readonly delimiter: Buffer;
  private readonly onFault: (error: UploadError) => void;
  private state: State = 'body';
  private pending: Buffer = Buffer.from('\r\n');
  private parts = 0;
  private faultWith: UploadError | undefined;

  constructor(boundary: string, onFault: (error: UploadError) => void) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.onFault = onFault;
  }

  /** The boundary of a multipart Content-Type, if it names one (busboy refuses the body otherwise). */
  static boundaryOf(contentType: string | undefined): string | undefined {
    if (contentType === undefined) return undefined;
    return parameters(contentType).get('boundary');
  }

  /** Parts whose header was read whole, so far. */
  get count(): number {
    return this.parts;
  }

  /** Whether the closing delimiter has been read. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get fault(): UploadError | undefined {
    return this.faultWith;
  }

  write(chunk: Buffer): void {
    if (this.state === 'closed' || this.faultWith !== undefined) return;
    let data = this.pending.byteLength === 0 ? chunk : this.join(chunk);
    for (;;) {
      if (this.state === 'body') {
        const at = data.indexOf(this.delimiter);
        if (at === -1) {
          this.pending = tail(data, this.delimiter.byteLength - 1);
          return;
        }
        data = data.subarray(at + this.delimiter.byteLength);
        this.state = 'delimiter';
      }
      if (this.state === 'delimiter') {
        if (data.byteLength < 2) {
          this.pending = Buffer.from(data);
          return;
        }
        if (data[0] === DASH && data[1] === DASH) {
          this.state = 'closed';
          this.pending = Buffer.alloc(0);
          return;
        }
        this.state = 'header';
      }
      // The header block runs from the delimiter line's CRLF to the blank line.
      const end = data.indexOf(CRLF_CRLF);
      const next = data.indexOf(this.delimiter);
      if (next !== -1 && (end === -1 || next < end)) {
        this.refuse(
          malformed(`part ${this.parts + 1} ends before its header does (no blank line)`),
        );
        return;
      }
      if (end === -1) {
        if (data.byteLength > MAX_PART_HEADER_BYTES + 2)
          this.refuse(headerTooLarge(this.parts + 1));
        else this.pending = Buffer.from(data);
        return;
      }
      if (end > MAX_PART_HEADER_BYTES + 2) {
        this.refuse(headerTooLarge(this.parts + 1));
        return;
      }
      // Past the delimiter line (transport padding, then CRLF) when the block has lines.
      const lineEnd = data.indexOf('\r\n');
      const block = lineEnd === end ? '' : data.toString('latin1', lineEnd + 2, end);
      const fault = checkHeader(block, this.parts + 1);
      if (fault !== undefined) {
        this.refuse(fault);
        return;
      }
      this.parts += 1;
      // The blank line's CRLF stays: as in busboy, it may begin the next delimiter (an empty part).
      data = data.subarray(end + CRLF_CRLF.byteLength - 2);
      this.state = 'body';
    }
  }

  /**
   * What is kept from the last chunk, then `chunk`. In a file's bytes only a delimiter across
   * the edge needs the two together: the seam is searched alone, and the chunk is not copied
   * (every chunk of a 200 MB upload would be).
   */
  private join(chunk: Buffer): Buffer {
    // A chunk shorter than the seam is joined whole: the tail kept must cover its bytes too.
    if (this.state === 'body' && chunk.byteLength >= this.delimiter.byteLength - 1) {
      const seam = Buffer.concat([this.pending, chunk.subarray(0, this.delimiter.byteLength - 1)]);
      if (seam.indexOf(this.delimiter) === -1) {
        this.pending = Buffer.alloc(0);
        return chunk;
      }
    }
    return Buffer.concat([this.pending, chunk]);
  }

  private refuse(error: UploadError): void {
    this.faultWith = error;
    this.pending = Buffer.alloc(0);
    this.onFault(error);
  }
}

/** Why the part header numbered `index` (from 1) is refused, if it is. */
function checkHeader(block: string, index: number): UploadError | undefined {
  const fields = new Map<string, string>();
  const lines = block.length === 0 ? [] : block.split('\r\n');
  for (const line of lines) {
    if (line.includes('\n') || line.includes('\r')) {
      return malformed(`part ${index} has a bare line break in its header`);
    }
    const colon = line.indexOf(':');
    if (colon <= 0)
      return malformed(`part ${index} has a header line without a name: ${show(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    if (fields.has(name)) return malformed(`part ${index} has ${show(name)} twice`);
    fields.set(name, line.slice(colon + 1).trim());
  }
  const disposition = fields.get('content-disposition');
  if (disposition === undefined) {
    return malformed(`part ${index} has no Content-Disposition`);
  }
  const type = disposition.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'form-data') {
    return malformed(`part ${index} has Content-Disposition ${show(type ?? '')}, not form-data`);
  }
  const params = parameters(disposition);
  if (params.has('filename*')) {
    return malformed(
      `part ${index} names its file with filename*, which multipart/form-data does not use (RFC 7578 §4.2): send filename="..." (UTF-8 is fine)`,
    );
  }
  if (!params.has('name')) return malformed(`part ${index} has no field name (name="...")`);
  const encoding = fields.get('content-transfer-encoding')?.toLowerCase();
  if (encoding !== undefined && !IDENTITY_ENCODINGS.has(encoding)) {
    return new UploadError(
      'BREAKWATER_UPLOAD_UNSUPPORTED_ENCODING',
      `Part ${index} has Content-Transfer-Encoding ${show(encoding)}: the gateway does not decode parts, and would scan the encoded text instead of the file; send the file's own bytes (binary)`,
    );
  }
  const contentType = fields.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  if (
    !params.has('filename') &&
    contentType !== undefined &&
    contentType !== 'text/plain' &&
    contentType !== 'application/json'
  ) {
    return malformed(
      `part ${index} (field ${show(params.get('name') ?? '')}) is typed ${show(contentType)} but has no filename: send a file with filename="..."`,
    );
  }
  return undefined;
}

/** The `key=value` parameters after a header value's first `;` (keys lower-cased, quotes undone). */
function parameters(value: string): Map<string, string> {
  const found = new Map<string, string>();
  let at = value.indexOf(';');
  while (at !== -1 && at < value.length) {
    const equals = value.indexOf('=', at + 1);
    const semicolon = value.indexOf(';', at + 1);
    if (equals === -1 || (semicolon !== -1 && semicolon < equals)) {
      const key = value.slice(at + 1, semicolon === -1 ? undefined : semicolon).trim();
      if (key.length > 0) found.set(key.toLowerCase(), '');
      at = semicolon;
      continue;
    }
    const key = value
      .slice(at + 1, equals)
      .trim()
      .toLowerCase();
    let rest = equals + 1;
    while (value[rest] === ' ' || value[rest] === '\t') rest += 1;
    let text = '';
    if (value[rest] === '"') {
      rest += 1;
      while (rest < value.length && value[rest] !== '"') {
        if (value[rest] === '\\') rest += 1;
        text += value[rest] ?? '';
        rest += 1;
      }
      at = value.indexOf(';', rest);
    } else {
      const stop = value.indexOf(';', rest);
      text = value.slice(rest, stop === -1 ? undefined : stop).trim();
      at = stop;
    }
    if (key.length > 0 && !found.has(key)) found.set(key, text);
  }
  return found;
}

function tail(data: Buffer, bytes: number): Buffer {
  return Buffer.from(data.subarray(Math.max(0, data.byteLength - bytes)));
}

function malformed(what: string): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_MALFORMED',
    `The multipart body could not be read whole: ${what}. Every part needs Content-Disposition: form-data; name="..." (and filename="..." for a file), as RFC 7578 describes`,
  );
}

function headerTooLarge(index: number): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_PART_HEADER_TOO_LARGE',
    `Part ${index} of the form has a header longer than ${MAX_PART_HEADER_BYTES} bytes: a part needs only Content-Disposition and Content-Type`,
  );
}
