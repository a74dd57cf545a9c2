import type { ServerResponse } from 'node:http';

// `<`, `>` and `&` escaped keep a breaker's name inert even where JSON ends up inside HTML;
// U+2028/U+2029 are escaped for old JavaScript parsers.
const UNSAFE_IN_HTML = /[<>&\u2028\u2029]/g;

/** JSON that cannot be read as markup: the same value, with markup characters escaped. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    UNSAFE_IN_HTML,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonBody(res, status, safeJson(value), headers);
}

/**
 * JSON already serialized (with `safeJson`), whole or in parts: a shared Buffer is written as
 * is, never copied.
 */
export function sendJsonBody(
  res: ServerResponse,
  status: number,
  body: string | Buffer | readonly (string | Buffer)[],
  headers: Record<string, string> = {},
): void {
  const parts = typeof body === 'string' || Buffer.isBuffer(body) ? [body] : body;
  let length = 0;
  for (const part of parts) length += Buffer.byteLength(part);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': length,
    'Cache-Control': 'no-store',
  });
  for (const part of parts) res.write(part);
  res.end();
}

/**
 * A shared JSON object (`{...}`, not empty) with `takenAt: now` put first, as parts to write:
 * the body itself is not copied.
 */
export function stamped(now: number, body: Buffer): [string, Buffer] {
  return [`{"takenAt":${now},`, body.subarray(1)];
}

/** An error as the dashboard reports one: a status and words a person can act on. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error }, headers);
}
