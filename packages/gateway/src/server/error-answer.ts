import type { Logger } from '@breakwater/core';
import { ScanError } from '@breakwater/scanbridge';
import type { FastifyRequest } from 'fastify';
import { UploadError } from '../upload/index.js';
import { GatewayHttpError } from './http-error.js';
import { MAX_PARAM_LENGTH } from './tenant-id.js';

/** How an error is answered: status, stable code, a message a person can act on, extra headers. */
export interface ErrorAnswer {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});
// The router's refusals, in the gateway's words (Fastify's quote the whole path back).
const ROUTER_REFUSALS: Readonly<
  Record<string, { statusCode: number; code: string; message: string }>
> = {
  FST_ERR_BAD_URL: {
    statusCode: 400,
    code: 'BREAKWATER_BAD_URL',
    message:
      "The request's path is not a valid URL: a % escape that is not UTF-8 (encode the path as RFC 3986 says)",
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    statusCode: 414,
    code: 'BREAKWATER_URL_TOO_LONG',
    message: `A segment of the request's path is longer than ${MAX_PARAM_LENGTH} characters (a tenant id has at most 1024)`,
  },
};
const FASTIFY_CODE = /^FST_[A-Z0-9_]+$/;

/**
 * The answer for anything a route threw. The gateway's own errors and the upload's say what they
 * say; Fastify's 4xx (a malformed request) keep their status and code; anything else is a 500
 * that says only where to look (the request id, logged with the error), never a stack or a
 * message from inside.
 */
export function errorAnswer(error: unknown, request: FastifyRequest, logger: Logger): ErrorAnswer {
  if (error instanceof GatewayHttpError) {
    const { statusCode, code, message, fields, headers } = error;
    return { statusCode, code, message, fields, headers };
  }
  if (error instanceof UploadError) {
    const headers =
      error.retryAfterSeconds === undefined
        ? NONE
        : { 'retry-after': String(error.retryAfterSeconds) };
    return {
      statusCode: error.statusCode,
      code: error.code,
      message: uploadMessage(error, request, logger),
      fields: NONE,
      headers,
    };
  }
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  const refusal = typeof code === 'string' ? ROUTER_REFUSALS[code] : undefined;
  if (refusal !== undefined) return { ...refusal, fields: NONE, headers: NONE };
  if (
    typeof statusCode === 'number' &&
    statusCode >= 400 &&
    statusCode < 500 &&
    typeof code === 'string' &&
    FASTIFY_CODE.test(code)
  ) {
    return { statusCode, code, message: (error as Error).message, fields: NONE, headers: NONE };
  }
  logger.error(
    {
      event: 'gateway_error',
      requestId: request.id,
      method: request.method,
      route: request.routeOptions.url,
      error: describeError(error),
    },
    `request ${request.id} failed inside the gateway`,
  );
  return {
    statusCode: 500,
    code: 'BREAKWATER_INTERNAL',
    message: `The gateway failed on this request; its log has the details under request id ${request.id}`,
    fields: NONE,
    headers: NONE,
  };
}

/**
 * An upload's message, but for what the engines said when they failed (socket paths, internal
 * hosts, upstream URLs: not the caller's to know): each engine's name and failure kind stand in
 * for it, and the log keeps the whole under the request id.
 */
function uploadMessage(error: UploadError, request: FastifyRequest, logger: Logger): string {
  const { cause } = error;
  if (!(cause instanceof ScanError) || cause.failures.length === 0) return error.message;
  if (!error.message.includes(cause.message)) return error.message;
  logger.warn(
    { event: 'gateway_scan_failed', requestId: request.id, code: error.code, error: cause.message },
    `request ${request.id}: ${cause.message}`,
  );
  const engines = cause.failures.map(({ engine, error: failure }) => `${engine}: ${failure.kind}`);
  return `${error.message.split(cause.message).join(engines.join('; '))}. The gateway's log has the details under request id ${request.id}`;
}

/** What the log keeps of an unexpected error: its name, code and message, and its stack. */
function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { value: String(error) };
  const { code } = error as { code?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}
