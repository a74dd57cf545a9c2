import { randomBytes } from 'node:crypto';
import type { Logger } from '@breakwater/core';
import {
  describeValue,
  integerAtLeast,
  nonEmptyString,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { parseRelationship, type RelationshipData } from './relationship.js';

export interface EmbeddedSpiceDbOptions {
  /** A SpiceDB schema written on start (each statement on its own line); none by default. */
  readonly schema?: string | undefined;
  /** Relationships written on start, in zed's syntax: `document:readme#reader@user:alice`. */
  readonly relationships?: readonly string[] | undefined;
  /** Where to listen; `127.0.0.1` (loopback only) by default. */
  readonly host?: string | undefined;
  /** `0` (the default) picks a free port; `endpoint` says which. */
  readonly port?: number | undefined;
  /** The preshared key clients must send; a fresh random one by default. */
  readonly token?: string | undefined;
  /** Told about the server's start, stop, unexpected exit and anything it writes to stderr. */
  readonly logger?: Logger | undefined;
  /**
   * Aborts the start: the server process is ended and the start rejects with the signal's
   * reason. Once started, the server answers to `close()` alone.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface EmbeddedSettings {
  readonly schema: string | undefined;
  readonly relationships: readonly RelationshipData[];
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly logger: Logger | undefined;
  readonly signal: AbortSignal | undefined;
}

const OWNER = 'startEmbeddedSpiceDb';
const KNOWN = new Set(['schema', 'relationships', 'host', 'port', 'token', 'logger', 'signal']);
// What an HTTP/2 header value can carry after "Bearer ": visible ASCII, no spaces.
const TOKEN = /^[\x21-\x7e]+$/;

export function embeddedSettings(options: EmbeddedSpiceDbOptions | undefined): EmbeddedSettings {
  const given: EmbeddedSpiceDbOptions = orDefault(options, {});
  requireObject(OWNER, given);
  rejectUnknownKeys(OWNER, given, KNOWN);
  const schema =
    given.schema === undefined ? undefined : nonEmptyString(OWNER, 'schema', given.schema);
  const relationships = orDefault<unknown>(given.relationships, []);
  if (!Array.isArray(relationships)) {
    throw new TypeError(
      `${OWNER}: option "relationships" must be an array of strings, got ${describeValue(relationships)}`,
    );
  }
  const port = integerAtLeast(OWNER, 'port', orDefault(given.port, 0), 0);
  if (port > 65_535) {
    throw new RangeError(`${OWNER}: option "port" must be an integer <= 65535, got ${port}`);
  }
  return {
    schema,
    relationships: relationships.map((text, i) =>
      parseRelationship(OWNER, `relationships[${i}]`, text),
    ),
    host: nonEmptyString(OWNER, 'host', orDefault(given.host, '127.0.0.1')),
    port,
    token:
      given.token === undefined ? randomBytes(32).toString('base64url') : checkToken(given.token),
    logger: checkLogger(given.logger),
    signal: checkSignal(given.signal),
  };
}

// Never quotes the value: a token in an error message is a leaked token.
function checkToken(token: unknown): string {
  if (typeof token === 'string' && TOKEN.test(token)) return token;
  const got =
    typeof token !== 'string'
      ? token === null
        ? 'null'
        : `a ${typeof token}`
      : token === ''
        ? 'an empty string'
        : 'a string with spaces or characters outside visible ASCII';
  throw new TypeError(
    `${OWNER}: option "token" must be a non-empty string of visible ASCII characters, got ${got}`,
  );
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(
    `${OWNER}: option "signal" must be an AbortSignal, got ${describeValue(signal)}`,
  );
}

function checkLogger(logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined;
  const methods = logger as Partial<Record<keyof Logger, unknown>>;
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof methods.info !== 'function' ||
    typeof methods.warn !== 'function' ||
    typeof methods.error !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: option "logger" must have info, warn and error methods (pino-compatible), got ${describeValue(logger)}`,
    );
  }
  return logger as Logger;
}
