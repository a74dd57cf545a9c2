import { extname } from 'node:path';

/** Leading bytes that identify a format; checked before the name, which the uploader chose. */
const SIGNATURES: ReadonlyArray<readonly [prefix: readonly number[], mimeType: string]> = [
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'application/pdf'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [[0x1f, 0x8b], 'application/gzip'],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], 'application/x-7z-compressed'],
  [[0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], 'application/vnd.rar'],
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x4d, 0x5a], 'application/vnd.microsoft.portable-executable'],
  [[0x7f, 0x45, 0x4c, 0x46], 'application/x-executable'],
  [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'application/x-ole-storage'],
];

const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.js': 'text/javascript',
  '.sh': 'application/x-sh',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xls': 'application/vnd.ms-excel',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.svg': 'image/svg+xml',
};

/** The MIME type of a file, from its first bytes, else its name's extension. */
export function sniffMimeType(head: Uint8Array, filename?: string): string | undefined {
  for (const [prefix, mimeType] of SIGNATURES) {
    if (head.byteLength >= prefix.length && prefix.every((byte, i) => head[i] === byte)) {
      return mimeType;
    }
  }
  if (filename === undefined) return undefined;
  return BY_EXTENSION[extname(filename).toLowerCase()];
}
