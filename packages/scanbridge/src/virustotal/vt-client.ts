import { isIP } from 'node:net';
import { parseRetryAfter } from '@breakwater/core';
import { ScanError, type ScanErrorKind } from '../errors.js';

export interface VtClientOptions {
  /** `https://www.virustotal.com/api/v3`, or a stand-in's. */
  readonly baseUrl: URL;
  readonly apiKey: string;
  /** For each request, from sending it to the last byte of the answer. */
  readonly timeoutMs: number;
  /** Names the engine in errors. */
  readonly engine: string;
}

/** An answer worth reading: 200 with a JSON body, or 404 (not known to VirusTotal). */
export type VtAnswer = { readonly status: 200; readonly body: unknown } | { readonly status: 404 };

/** A parsed answer with `scrub` applied to every string, keys included. */
function scrubDeep(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, scrub));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [scrub(key), scrubDeep(item, scrub)]),
    );
  }
  return value;
}

// VirusTotal's public quota is per minute; without a Retry-After header, wait that long.
const DEFAULT_RETRY_AFTER_MS = 60_000;
// A file report with every engine's verdict is a few hundred KiB; anything far larger is not one.
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * The API root, checked: https, or plain http to a loopback address (a local stand-in), since
 * the key would otherwise cross the network in clear text. Errors never repeat the URL, which
 * may carry credentials.
 */
export function checkBaseUrl(owner: string, value: unknown): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined) throw new TypeError(`${owner}: option "baseUrl" must be an absolute URL`);
  // Credentials would be repeated in fetch's own errors; a query or fragment would swallow
  // the paths appended to the root.
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new TypeError(
      `${owner}: option "baseUrl" must not carry credentials, a query or a fragment`,
    );
  }
  const loopback =
    url.hostname === 'localhost' ||
    url.hostname === '[::1]' ||
    (isIP(url.hostname) === 4 && url.hostname.startsWith('127.'));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(
      `${owner}: option "baseUrl" must use https (plain http only to a loopback address), got ${url.protocol}//${url.hostname}`,
    );
  }
  return url;
}

/**
 * VirusTotal's v3 API over fetch. Every request carries the key in `x-apikey` and nowhere
 * else: redirects are not followed (fetch would forward the header to any host), and text
 * from the server is scrubbed of the key before it can reach an error message.
 */
export class VtClient {
  readonly #apiKey: string;
  private readonly baseUrl: URL;
  /** The root with a trailing slash, so relative paths land under it. */
  private readonly root: URL;
  private readonly timeoutMs: number;
  private readonly engine: string;

  constructor(options: VtClientOptions) {
    this.#apiKey = options.apiKey;
    this.baseUrl = options.baseUrl;
    this.root = new URL(options.baseUrl.href.replace(/\/*$/, '/'));
    this.timeoutMs = options.timeoutMs;
    this.engine = options.engine;
  }

  /** A URL under the API root, e.g. `files/<sha256>`. */
  url(path: string): URL {
    return new URL(path, this.root);
  }

  /** A URL VirusTotal handed out (an upload URL): only on the API's own origin, key or not. */
  sameOrigin(href: string): URL | undefined {
    try {
      const url = new URL(href);
      return url.origin === this.baseUrl.origin ? url : undefined;
    } catch {
      return undefined;
    }
  }

  get(url: URL, signal: AbortSignal | undefined): Promise<VtAnswer> {
    return this.request('GET', url, undefined, signal);
  }

  post(url: URL, body: FormData, signal: AbortSignal | undefined): Promise<VtAnswer> {
    return this.request('POST', url, body, signal);
  }

  private async request(
    method: string,
    url: URL,
    body: FormData | undefined,
    parent: AbortSignal | undefined,
  ): Promise<VtAnswer> {
    parent?.throwIfAborted();
    const what = `VirusTotal ${method} ${url.pathname}`;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(parent?.reason);
    parent?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      controller.abort(
        new ScanError('timeout', `${this.engine}: ${what} took longer than ${this.timeoutMs} ms`, {
          engine: this.engine,
        }),
      );
    }, this.timeoutMs);
    try {
      const response = await fetch(url, {
        method,
        headers: { 'x-apikey': this.#apiKey, accept: 'application/json' },
        ...(body === undefined ? {} : { body }),
        redirect: 'manual',
        signal: controller.signal,
      });
      const text = await readText(response, what, this.engine);
      return this.answer(response, text, what);
    } catch (error) {
      if (controller.signal.aborted) throw controller.signal.reason;
      if (error instanceof ScanError) throw error;
      // Only the code: fetch's own messages may quote the whole request.
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new ScanError(
        'connection_failed',
        `${this.engine}: ${what} failed: ${typeof code === 'string' ? code : 'network error'}`,
        { engine: this.engine },
      );
    } finally {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    }
  }

  private answer(response: Response, text: string, what: string): VtAnswer {
    const { status } = response;
    const body = this.parse(text);
    if (status === 200) {
      if (body === undefined) {
        throw this.error('ambiguous_response', `${what} answered 200 with a body that is not JSON`);
      }
      return { status, body };
    }
    // VirusTotal's "not known" carries its own error code; a bare 404 is some other server.
    if (status === 404 && errorField(body, 'code') === 'NotFoundError') return { status };
    const hint = status === 404 ? " (not VirusTotal's NotFoundError: is baseUrl right?)" : '';
    const detail = `${what} answered ${status}${errorDetail(body)}${hint}`;
    if (status === 429) {
      const retryAfter =
        parseRetryAfter(response.headers.get('retry-after'), Date.now()) ?? DEFAULT_RETRY_AFTER_MS;
      throw new ScanError('rate_limited', `${this.engine}: ${detail}`, {
        engine: this.engine,
        retryAfter,
      });
    }
    throw this.error(kindOfStatus(status), detail);
  }

  /** The body as JSON with the key scrubbed from every string, or undefined when it is not JSON. */
  private parse(text: string): unknown {
    try {
      return scrubDeep(JSON.parse(text), (t) => this.scrub(t));
    } catch {
      return undefined;
    }
  }

  private error(kind: ScanErrorKind, detail: string): ScanError {
    return new ScanError(kind, `${this.engine}: ${detail}`, { engine: this.engine });
  }

  /** A server (or proxy) that echoes the request must not put the key into our errors. */
  private scrub(text: string): string {
    return text.split(this.#apiKey).join('[api key]');
  }
}

function errorField(body: unknown, key: 'code' | 'message'): unknown {
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  return typeof error === 'object' && error !== null ? error[key] : undefined;
}

/** VirusTotal's own `{ error: { code, message } }` (already scrubbed), cut short. */
function errorDetail(body: unknown): string {
  const parts = [errorField(body, 'code'), errorField(body, 'message')].filter(
    (p): p is string => typeof p === 'string',
  );
  return parts.length === 0 ? '' : ` (${parts.join(': ').slice(0, 200)})`;
}

function kindOfStatus(status: number): ScanErrorKind {
  if (status === 401 || status === 403) return 'authentication_failed';
  if (status === 413) return 'file_too_large';
  if (status >= 500) return 'engine_unavailable';
  // Redirects and other client errors: not an answer this client knows how to read.
  return 'ambiguous_response';
}

/** The body as text, refusing to hold more than any real answer needs. */
async function readText(response: Response, what: string, engine: string): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let length = Number(response.headers.get('content-length'));
  // Cancelling closes the connection instead of letting the server stream on.
  if (length > MAX_ANSWER_BYTES) return tooLong(reader, what, engine);
  length = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    length += value.byteLength;
    if (length > MAX_ANSWER_BYTES) return tooLong(reader, what, engine);
    text += decoder.decode(value, { stream: true });
  }
}

async function tooLong(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  what: string,
  engine: string,
): Promise<never> {
  await reader.cancel().catch(() => {});
  throw new ScanError(
    'ambiguous_response',
    `${engine}: ${what} answered with more than ${MAX_ANSWER_BYTES} bytes`,
    { engine },
  );
}
