import {
  integerAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { ScanError, toScanError } from '../errors.js';
import type { FileInput } from '../input.js';
import { MeteredRead } from '../metadata.js';
import type { FileMetadata, ScanResult } from '../result.js';
import { type Scanner, type ScanOptions, scanResult } from '../scanner.js';
import { type ClamdEndpoint, clamdCommand } from './clamd-client.js';
import { ClamdSessionPool } from './clamd-pool.js';
import type { ClamdSession, SessionRequest } from './clamd-session.js';
import { verdictOf } from './clamd-verdict.js';
import { commandBytes, describeEndpoint, sendChunks } from './clamd-wire.js';
import { ScanDeadline } from './scan-deadline.js';

export interface ClamAvScannerOptions {
  /** clamd's TCP address. Default 127.0.0.1 (when no `socketPath` is given). */
  host?: string | undefined;
  /** Default 3310. */
  port?: number | undefined;
  /** clamd's unix socket; used instead of TCP when set. */
  socketPath?: string | undefined;
  /** Default 5 000 ms. */
  connectTimeoutMs?: number | undefined;
  /** Each scan, from asking for a connection to clamd's verdict. Default 60 000 ms. */
  scanTimeoutMs?: number | undefined;
  /** INSTREAM chunk size. Default 64 KiB. */
  chunkSize?: number | undefined;
  /**
   * Bytes; larger inputs fail with `file_too_large` before clamd sees them. Default 100 MiB,
   * clamd 1.4's own default StreamMaxLength.
   */
  maxFileSize?: number | undefined;
  /**
   * Connections to clamd kept open, each carrying many scans (clamd's IDSESSION). Default 4;
   * 0 opens a connection per scan.
   */
  maxSessions?: number | undefined;
  /** A kept connection with nothing to do closes after this long. Default 1 000 ms. */
  sessionIdleMs?: number | undefined;
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
  'maxSessions',
  'sessionIdleMs',
  'name',
]);

/** clamd 1.4's default StreamMaxLength (`clamconf -g clamd.conf` says 104857600). */
export const CLAMD_STREAM_MAX_LENGTH = 100 * 1024 * 1024;

const INSTREAM = commandBytes('INSTREAM');
const VERSION = commandBytes('VERSION');

/** What an exchange with clamd came to: its reply, and the read that fed it. */
interface Exchange {
  readonly reply: string;
  readonly read: MeteredRead;
}

/**
 * ClamAV through clamd's own protocol: files stream to it in chunks, never whole into memory,
 * over a few kept connections that each carry many scans.
 */
export class ClamAvScanner implements Scanner {
  readonly name: string;
  readonly maxFileSize: number;
  readonly endpoint: ClamdEndpoint;
  private readonly connectTimeoutMs: number;
  private readonly scanTimeoutMs: number;
  private readonly chunkSize: number;
  private readonly pool: ClamdSessionPool | undefined;
  /** What a scan that times out missed. */
  private readonly noAnswer: string;
  private engineVersion: string | undefined;
  /** The one VERSION question in flight, so concurrent first scans ask it once. */
  private versionAsked: Promise<string | undefined> | undefined;

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
      options.maxFileSize ?? CLAMD_STREAM_MAX_LENGTH,
      1,
    );
    const maxSessions = integerAtLeast(OWNER, 'maxSessions', options.maxSessions ?? 4, 0);
    const idleMs = integerAtLeast(OWNER, 'sessionIdleMs', options.sessionIdleMs ?? 1_000, 1);
    this.pool =
      maxSessions === 0
        ? undefined
        : new ClamdSessionPool({
            endpoint: this.endpoint,
            engine: this.name,
            connectTimeoutMs: this.connectTimeoutMs,
            idleMs,
            maxSessions,
          });
    this.noAnswer = `clamd at ${describeEndpoint(this.endpoint)} did not answer INSTREAM`;
  }

  async scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const startedAt = Date.now();
    const deadline = new ScanDeadline(this.name, this.scanTimeoutMs, this.noAnswer, options.signal);
    try {
      const { reply, read } = await deadline.race(this.exchange(input, options, deadline));
      const outcome = verdictOf(reply, this.name);
      const fileMetadata = this.metadataOf(read, reply);
      const engineVersion =
        this.engineVersion ?? (await deadline.race(this.versionAsked ?? this.askVersion()));
      return scanResult({
        outcome,
        fileMetadata,
        engine: this.name,
        engineVersion,
        startedAt,
        completedAt: Date.now(),
        context: options.context,
        details: { reply },
      });
    } catch (error) {
      throw toScanError(error, this.name);
    } finally {
      deadline.clear();
    }
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
    this.engineVersion = engine;
    return database.length > 0 ? database.join('/') : undefined;
  }

  /** Closes the kept connections once their scans are answered; a later scan opens new ones. */
  close(): Promise<void> {
    return this.pool?.close() ?? Promise.resolve();
  }

  /** A pooled session, or a connection of its own when the session breaks and the input can be read again. */
  private async exchange(
    input: FileInput,
    options: ScanOptions,
    deadline: ScanDeadline,
  ): Promise<Exchange> {
    if (this.pool === undefined) return this.exchangeAlone(input, options, deadline);
    const read = this.meter(input, options, deadline);
    // The file is opened and its first chunk read before a session's writer is taken: a
    // small file then holds the writer only while its bytes go into the socket, not while
    // the disk is read.
    const chunks = read.chunks();
    const first = await chunks.next();
    let session: ClamdSession;
    try {
      session = await this.pool.acquire(deadline.signal);
    } catch (error) {
      await chunks.return();
      throw error;
    }
    const answer = new Answer();
    try {
      deadline.signal.throwIfAborted();
      if (this.engineVersion === undefined && this.versionAsked === undefined) {
        this.askVersion(session);
      }
      answer.id = session.send(INSTREAM, answer);
      try {
        await sendChunks(session.wire, resume(first, chunks), this.chunkSize, deadline.signal);
      } catch (error) {
        // The input failed or the scan gave up. Ending its stream keeps the session in step
        // for the scans it carries, unless clamd stopped reading: then it is of no more use.
        if (session.backlogged) session.fail(toScanError(error, this.name));
        else session.endStream();
        session.abandon(answer.id);
        throw error;
      }
      session.endStream();
    } finally {
      this.pool.release(session);
    }
    const reply = await answer.settled(session, deadline.signal);
    if (typeof reply === 'string') return { reply, read };
    if (input.kind === 'stream') {
      throw new ScanError(
        reply.kind,
        `${reply.message}; the input was a stream, read once, so it could not be sent again`,
        { engine: this.name, cause: reply },
      );
    }
    return this.exchangeAlone(input, options, deadline);
  }

  /** One scan on a connection of its own. */
  private async exchangeAlone(
    input: FileInput,
    options: ScanOptions,
    deadline: ScanDeadline,
  ): Promise<Exchange> {
    const read = this.meter(input, options, deadline);
    const reply = await clamdCommand({
      endpoint: this.endpoint,
      command: 'INSTREAM',
      body: read.chunks(),
      chunkSize: this.chunkSize,
      connectTimeoutMs: this.connectTimeoutMs,
      timeoutMs: deadline.remaining(),
      signal: deadline.signal,
      engine: this.name,
    });
    return { reply, read };
  }

  private meter(input: FileInput, options: ScanOptions, deadline: ScanDeadline): MeteredRead {
    return new MeteredRead(input, {
      hashes: options.hashes,
      signal: deadline.signal,
      maxBytes: this.maxFileSize,
    });
  }

  /** The read's metadata; a verdict that came before the whole file was sent is none. */
  private metadataOf(read: MeteredRead, reply: string): FileMetadata {
    try {
      return read.metadata();
    } catch (error) {
      throw new ScanError(
        'ambiguous_response',
        `${this.name}: clamd answered ${JSON.stringify(reply.slice(0, 200))} before the whole file was sent (${read.bytesRead} bytes)`,
        { engine: this.name, cause: error },
      );
    }
  }

  /**
   * Learns clamd's version (`ClamAV 1.4.6`) once per scanner: on the session the first scan
   * uses, just before its stream, or on a connection of its own. A lost answer is asked again
   * by the next scan.
   */
  private askVersion(session?: ClamdSession): Promise<string | undefined> {
    const learned = (reply: string): string | undefined => {
      this.engineVersion = reply.split('/')[0];
      return this.engineVersion;
    };
    const forgotten = (): undefined => {
      this.versionAsked = undefined;
      return undefined;
    };
    this.versionAsked =
      session === undefined
        ? this.command('VERSION').then(learned, forgotten)
        : new Promise((resolve) =>
            session.send(VERSION, {
              answered: (reply) => resolve(learned(reply)),
              lost: () => resolve(forgotten()),
            }),
          );
    return this.versionAsked;
  }

  private command(command: string): Promise<string> {
    return clamdCommand({
      endpoint: this.endpoint,
      command,
      chunkSize: this.chunkSize,
      connectTimeoutMs: this.connectTimeoutMs,
      timeoutMs: this.scanTimeoutMs,
      engine: this.name,
    });
  }
}

/** A generator's chunks again, starting with the one already taken from it. */
async function* resume(
  first: IteratorResult<Uint8Array, void>,
  rest: AsyncGenerator<Uint8Array, void, undefined>,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    if (first.done === true) return;
    yield first.value;
    yield* rest;
  } finally {
    // Stopped after the first chunk (clamd hung up): the input still closes.
    await rest.return();
  }
}

/** One INSTREAM on a session: clamd's reply, or the session's failure when it broke first. */
class Answer implements SessionRequest {
  id = 0;
  private result: string | ScanError | undefined;
  private wake: ((result: string | ScanError) => void) | undefined;

  answered(reply: string): void {
    this.settle(reply);
  }

  lost(error: ScanError): void {
    this.settle(error);
  }

  /** The reply or the loss; a scan that gives up first stops waiting, and its reply is dropped. */
  settled(session: ClamdSession, signal: AbortSignal): Promise<string | ScanError> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    if (signal.aborted) {
      session.abandon(this.id);
      return Promise.reject(signal.reason);
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        session.abandon(this.id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
    });
  }

  private settle(result: string | ScanError): void {
    if (this.result !== undefined) return;
    this.result = result;
    this.wake?.(result);
  }
}
