/** The longest wait a server may impose; a Retry-After of a year is read as a day. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * An HTTP `Retry-After` value (whole seconds, or an HTTP date per RFC 9110) as ms from `now`,
 * at most a day; undefined when absent or in any other form.
 */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number,
): number | undefined {
  const value = header?.trim() ?? '';
  let ms: number | undefined;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else if (HTTP_DATE.test(value)) ms = Math.max(0, Date.parse(value) - now);
  return ms === undefined ? undefined : Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * How long an error asks the caller to wait, in ms: its own `retryAfter` (ms), or the
 * `Retry-After` header of the response it carries (`error.response.headers`, or
 * `error.headers`, as a fetch `Headers` or a plain object). Undefined when it says nothing.
 */
export function retryAfterOf(error: unknown, now: number): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { retryAfter, response, headers } = error as {
    retryAfter?: unknown;
    response?: { headers?: unknown };
    headers?: unknown;
  };
  // Infinity too is read as the longest wait, a day, as a header asking for a year is.
  if (typeof retryAfter === 'number' && retryAfter >= 0)
    return Math.min(retryAfter, MAX_RETRY_AFTER_MS);
  return parseRetryAfter(headerOf(response?.headers ?? headers), now);
}

function headerOf(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    const value: unknown = get.call(headers, 'retry-after');
    return typeof value === 'string' ? value : undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === 'retry-after')
      return typeof value === 'string' ? value : String(value);
  }
  return undefined;
}
