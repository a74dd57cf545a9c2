export { BodyDeadline, type BodyTimeouts } from './deadline.js';
export { checkFilename, MAX_FILENAME_BYTES } from './filename.js';
export { multipartLimits } from './multipart-body.js';
export { registerUploadParsers, serverTimeouts, type UploadServerTimeouts } from './parsers.js';
export { DEFAULT_RETRY_AFTER_SECONDS } from './scan-failure.js';
export { type ScanUploadsOptions, scanUploads } from './scan-uploads.js';
export {
  ClientGoneError,
  UploadError,
  type UploadErrorCode,
  type UploadErrorOptions,
  type UploadStatusCode,
} from './upload-error.js';
export type { ScannedFile } from './upload-reader.js';
