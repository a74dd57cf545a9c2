// Characters any client reads literally inside a quoted filename; everything else is replaced.
const PLAIN = /[^A-Za-z0-9._-]/g;
const MAX_PLAIN = 150;

/**
 * `attachment` with the file's name: an ASCII-only stand-in in `filename` (no quotes, slashes,
 * control or header-breaking characters can get through) and the exact name, percent-encoded,
 * in `filename*` (RFC 6266) for clients that read it.
 */
export function attachment(filename: string | undefined, fallback: string): string {
  const name = filename === undefined || filename.length === 0 ? fallback : filename;
  let plain = name.replace(PLAIN, '_').slice(0, MAX_PLAIN);
  if (/^\.*$/.test(plain)) plain = fallback;
  return `attachment; filename="${plain}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
