import {
  integerAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { ScanError } from '../errors.js';
import type { FileInput } from '../input.js';
import { MeteredRead } from '../metadata.js';
import type { ScanOutcome, ScanResult, Severity } from '../result.js';
import { type Scanner, type ScanOptions, scanResult } from '../scanner.js';
import { type ClamdEndpoint, clamdCommand } from './clamd-client.js';

export interface ClamAvScannerOptions {
  /** clamd's TCP address. Default 127.0.0.1 (when no `socketPath` is given). */
  host?: string | undefined;
  /** Default 3310. */
  port?: number | undefined;
  /** clamd's unix socket; used instead of TCP when set. */
  socketPath?: string | undefined;
  /** Default 5 000 ms. */
  connectTimeoutMs?: number | undefined;
  /** The whole scan, from connecting to clamd's verdict. Default 60 000 ms. */
  scanTimeoutMs?: number | undefined;
  /** INSTREAM chunk size. Default 64 KiB. */
  chunkSize?: number | undefined;
  /** Bytes; larger inputs fail with `file_too_large` before clamd sees them. Default 25 MiB (clamd's default StreamMaxLength). */
  maxFileSize?: number | undefined;
  /** Default `clamav`. */
  name?: string | undefined;
}

const OWNER = 'ClamAvScanner';
const KEYS: ReadonlySet<string> = new Set([
  'host',
  'port',
  'socketPath',
  'connectTimeoutMs',
  'scanTimeoutMs',
  'chunkSize',
  'maxFileSize',
  'name',
]);

/** ClamAV through clamd's own protocol: files stream to it in chunks, never whole into memory. */
export class ClamAvScanner implements Scanner {
  readonly name: string;
  readonly maxFileSize: number;
  readonly endpoint: ClamdEndpoint;
  private readonly connectTimeoutMs: number;
  private readonly scanTimeoutMs: number;
  private readonly chunkSize: number;
  private version: string | undefined;

  constructor(options: ClamAvScannerOptions = {}) {
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KEYS);
    const { host, port, socketPath, name = 'clamav' } = options;
    if (socketPath !== undefined) {
      nonEmptyString(OWNER, 'socketPath', socketPath);
      if (host !== undefined || port !== undefined) {
        throw new TypeError(`${OWNER}: give either socketPath or host/port, not both`);
      }
      this.endpoint = { socketPath };
    } else {
      const checkedHost = nonEmptyString(OWNER, 'host', host ?? '127.0.0.1');
      const checkedPort = integerAtLeast(OWNER, 'port', port ?? 3310, 1);
      if (checkedPort > 65_535)
        throw new RangeError(`${OWNER}: option "port" must be <= 65535, got ${checkedPort}`);
      this.endpoint = { host: checkedHost, port: checkedPort };
    }
    this.name = nonEmptyString(OWNER, 'name', name);
    this.connectTimeoutMs = integerAtLeast(
      OWNER,
      'connectTimeoutMs',
      options.connectTimeoutMs ?? 5_000,
      1,
    );
    this.scanTimeoutMs = integerAtLeast(OWNER, 'scanTimeoutMs', options.scanTimeoutMs ?? 60_000, 1);
    this.chunkSize = integerAtLeast(OWNER, 'chunkSize', options.chunkSize ?? 64 * 1024, 1);
    this.maxFileSize = integerAtLeast(
      OWNER,
      'maxFileSize',
      options.maxFileSize ?? 25 * 1024 * 1024,
      1,
    );
  }

  async scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const startedAt = Date.now();
    const read = new MeteredRead(input, { ...options, maxBytes: this.maxFileSize });
    const reply = await this.command('INSTREAM', options.signal, read.chunks());
    return scanResult({
      outcome: this.outcome(reply),
      fileMetadata: read.metadata(),
      engine: this.name,
      engineVersion: this.version,
      startedAt,
      completedAt: Date.now(),
      context: options.context,
      details: { reply },
    });
  }

  async healthCheck(): Promise<void> {
    const reply = await this.command('PING');
    if (reply !== 'PONG') {
      throw new ScanError(
        'ambiguous_response',
        `${this.name}: clamd answered PING with ${JSON.stringify(reply)}`,
        { engine: this.name },
      );
    }
  }

  /** The signature database version (`27000/Mon Nov 23 ...`), or undefined with no official database. */
  async signatureVersion(): Promise<string | undefined> {
    const reply = await this.command('VERSION');
    const [engine, ...database] = reply.split('/');
    this.version = engine;
    return database.length > 0 ? database.join('/') : undefined;
  }

  private command(
    command: string,
    signal?: AbortSignal,
    body?: AsyncIterable<Uint8Array>,
  ): Promise<string> {
    return clamdCommand({
      endpoint: this.endpoint,
      command,
      body,
      chunkSize: this.chunkSize,
      connectTimeoutMs: this.connectTimeoutMs,
      timeoutMs: this.scanTimeoutMs,
      signal,
      engine: this.name,
    });
  }

  /** clamd's verdict: `stream: OK`, `stream: <name> FOUND`, `<message> ERROR`; anything else is not one. */
  private outcome(reply: string): ScanOutcome {
    if (reply === 'stream: OK') return { type: 'clean' };
    const found = /^stream: (.+) FOUND$/.exec(reply);
    if (found?.[1] !== undefined) {
      const name = found[1];
      return {
        type: 'infected',
        threats: [{ name, severity: severityOf(name), engine: this.name, signatureId: name }],
      };
    }
    if (reply.endsWith('ERROR')) {
      const kind = /size limit exceeded/i.test(reply) ? 'file_too_large' : 'engine_unavailable';
      throw new ScanError(kind, `${this.name}: clamd: ${reply}`, { engine: this.name });
    }
    throw new ScanError(
      'ambiguous_response',
      `${this.name}: unexpected reply from clamd: ${JSON.stringify(reply.slice(0, 200))}`,
      {
        engine: this.name,
      },
    );
  }
}

// ClamAV names carry their class: potentially unwanted applications and heuristics are not
// the same thing as a known piece of malware.
function severityOf(name: string): Severity {
  if (name.startsWith('PUA.')) return 'low';
  if (name.startsWith('Heuristics.')) return 'medium';
  return 'high';
}
