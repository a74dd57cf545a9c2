/** Every way an upload can be refused, each with the HTTP status it is answered with. */
const STATUS = {
  /** A multipart request with no file in it (or none under the route's field). */
  BREAKWATER_UPLOAD_NO_FILE: 400,
  /** A raw body without `X-Filename`. */
  BREAKWATER_UPLOAD_FILENAME_REQUIRED: 400,
  /** A file name with a path, a control character, too long, or `.`/`..`/empty. */
  BREAKWATER_UPLOAD_BAD_FILENAME: 400,
  /** A file of 0 bytes: scanbridge scans nothing, so nothing could vouch for it. */
  BREAKWATER_UPLOAD_EMPTY: 400,
  /** The body stopped half-way: the client closed, or the form ends inside a file. */
  BREAKWATER_UPLOAD_INCOMPLETE: 400,
  /** A multipart body that cannot be parsed (no boundary, a broken part header). */
  BREAKWATER_UPLOAD_MALFORMED: 400,
  /** A form part whose header block is past MAX_PART_HEADER_BYTES. */
  BREAKWATER_UPLOAD_PART_HEADER_TOO_LARGE: 400,
  /** The body did not finish within `limits.bodyTimeoutMs`. */
  BREAKWATER_UPLOAD_TIMEOUT: 408,
  /** The client sent nothing for `limits.idleTimeoutMs`. */
  BREAKWATER_UPLOAD_IDLE: 408,
  /** A file past `limits.maxFileSize`. */
  BREAKWATER_UPLOAD_TOO_LARGE: 413,
  /** More than `limits.maxFiles` files in one request. */
  BREAKWATER_UPLOAD_TOO_MANY_FILES: 413,
  /** More form fields or parts than an upload needs. */
  BREAKWATER_UPLOAD_TOO_MANY_PARTS: 413,
  /** A form field (a part without a filename) past MAX_FIELD_BYTES. */
  BREAKWATER_UPLOAD_FIELD_TOO_LARGE: 413,
  /** A route that takes only multipart/form-data was sent another type. */
  BREAKWATER_UPLOAD_UNSUPPORTED_MEDIA_TYPE: 415,
  /** A body with a Content-Encoding, or a part with a Content-Transfer-Encoding: not decoded. */
  BREAKWATER_UPLOAD_UNSUPPORTED_ENCODING: 415,
  /** Every engine failed: the policy has no verdict to decide with. */
  BREAKWATER_UPLOAD_ENGINES_UNAVAILABLE: 503,
  /**
   * The client went away once its body was in, while its files were scanned: nobody reads the
   * answer (499, as nginx logs it). Not the gateway's failure.
   */
  BREAKWATER_UPLOAD_CLIENT_GONE: 499,
  /** The gateway stopped (its grace period ended) while the files were scanned. */
  BREAKWATER_UPLOAD_SHUTTING_DOWN: 503,
} as const;

export type UploadErrorCode = keyof typeof STATUS;
export type UploadStatusCode = (typeof STATUS)[UploadErrorCode];

export interface UploadErrorOptions {
  cause?: unknown;
  /** For 503: when an engine may answer again, in whole seconds (the `Retry-After` header). */
  retryAfterSeconds?: number | undefined;
}

/**
 * An upload the gateway refuses, and why: `statusCode` is the HTTP answer, `code` a stable
 * string for clients, the message says what to change. Anything else thrown while scanning an
 * upload is not the client's doing (an answer of 500).
 */
export class UploadError extends Error {
  readonly code: UploadErrorCode;
  readonly statusCode: UploadStatusCode;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: UploadErrorCode, message: string, options: UploadErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      statusCode: this.statusCode,
      message: this.message,
      ...(this.retryAfterSeconds === undefined
        ? {}
        : { retryAfterSeconds: this.retryAfterSeconds }),
    };
  }
}
UploadError.prototype.name = 'UploadError';

/**
 * The reason a request's signal aborts with when its client goes away (what scanUploads'
 * `signal` says apart from the gateway stopping, whatever that one's reason is).
 */
export class ClientGoneError extends Error {}
ClientGoneError.prototype.name = 'ClientGoneError';
