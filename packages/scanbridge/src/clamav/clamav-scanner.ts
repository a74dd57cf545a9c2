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
import type { ClamdSession, StreamRequest } from './clamd-session.js';
import { verdictOf } from './clamd-verdict.js';
import { commandBytes, describeEndpoint } from './clamd-wire.js';
import { InstreamBody } from './instream-body.js';
import { ScanDeadline } from './scan-deadline.js';
import { ScanSlots } from './scan-slots.js';

/** How long after the scan's deadline a connection's own timer would fire. */
const DEADLINE_FIRST_MS = 50;

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
   * Connections to clamd kept open, each carrying many scans (clamd's IDSESSION). Default 8;
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

/**
 * Inputs up to this size are read into memory and go on a shared session; larger ones on a
 * connection of their own. Far below any StreamMaxLength in use (Debian's is 25 MiB), so clamd
 * does not refuse a file on a session and end the session under the other scans on it; and a
 * connection of its own costs a big file nothing it would notice.
 */
const SESSION_INPUT_BYTES = 256 * 1024;

/**
 * Sessions kept by default: as many as the scans a caller usually runs at once (the CLI's 4,
 * the bench's 8), so each session owes at most one reply. Two replies owed on one TCP session
 * cost about 40 ms when the pipeline drains: clamd holds the second small reply back (Nagle)
 * until this side acknowledges the first, and this side delays that acknowledgement because it
 * has nothing to send. Within clamd's default MaxThreads (10).
 */
export const DEFAULT_SESSIONS = 8;

/**
 * Scans under way at once, per scanner; more wait their turn. Far more than clamd scans at
 * once (its MaxThreads is 10 by default), and it bounds what waiting scans hold: nothing open,
 * nothing in memory.
 */
const SCANS_AT_ONCE = 64;

/** How long a finished scan waits for clamd's VERSION (asked beside its first scans) at most. */
const VERSION_GRACE_MS = 250;
/** A VERSION unanswered this long is given up, and asked again by a later scan. */
const VERSION_TIMEOUT_MS = 2_000;

const VERSION = commandBytes('VERSION');
/** What clamd says to VERSION: `ClamAV 1.4.6/27000/Mon Nov 23 ...`. */
const VERSION_REPLY = /^ClamAV \S+/;

/** What an exchange with clamd came to: its reply, and the read that fed it. */
interface Exchange {
  readonly reply: string;
  readonly read: MeteredRead;
}

/** What a scan is doing, for its timeout's message ("timed out after 300 ms reading the input"). */
interface Phases {
  readonly queued: string;
  readonly reading: string;
  readonly connecting: string;
  readonly sending: string;
  readonly verdict: string;
}

/**
 * ClamAV through clamd's own protocol: files stream to it in chunks, never whole into memory
 * (small ones, read before they are sent, over a few kept connections that each carry many
 * scans).
 */
export class ClamAvScanner implements Scanner {
  readonly name: string;
  readonly maxFileSize: number;
  readonly endpoint: ClamdEndpoint;
  private readonly connectTimeoutMs: number;
  private readonly scanTimeoutMs: number;
  private readonly chunkSize: number;
  private readonly pool: ClamdSessionPool | undefined;
  private readonly slots = new ScanSlots(SCANS_AT_ONCE);
  private readonly phases: Phases;
  /** Larger inputs go on a connection of their own; lowered when clamd refuses a smaller one. */
  private sessionBytes = SESSION_INPUT_BYTES;
  /** The largest input held in memory that clamd did not refuse for its size. */
  private largestAccepted = 0;
  private engineVersion: string | undefined;
  /**
   * The one VERSION question in flight (or answered with something that is not a version), so
   * concurrent first scans ask it once.
   */
  private versionAsked: Promise<string | undefined> | undefined;
  /** A scan already went without the version: later ones do not wait for this question. */
  private versionLate = false;
  /** Aborted by close(): questions asked on the side (VERSION) end with it. */
  private closing = new AbortController();

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
    const maxSessions = integerAtLeast(
      OWNER,
      'maxSessions',
      options.maxSessions ?? DEFAULT_SESSIONS,
      0,
    );
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
    const where = `clamd at ${describeEndpoint(this.endpoint)}`;
    this.phases = {
      queued: `waiting for a turn (${SCANS_AT_ONCE} other scans were under way)`,
      reading: 'reading the input',
      connecting: `connecting to ${where}`,
      sending: `sending the input to ${where}`,
      verdict: `waiting for ${where} to answer INSTREAM`,
    };
  }

  async scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const startedAt = Date.now();
    const deadline = new ScanDeadline(
      this.name,
      this.scanTimeoutMs,
      this.phases.reading,
      options.signal,
    );
    try {
      const { reply, read } = await deadline.race(this.exchange(input, options, deadline));
      const outcome = verdictOf(reply, this.name);
      const fileMetadata = this.metadataOf(read, reply);
      const engineVersion = this.engineVersion ?? (await this.versionSoon(deadline));
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
    if (VERSION_REPLY.test(reply)) this.engineVersion = engine;
    return database.length > 0 ? database.join('/') : undefined;
  }

  /** Closes the kept connections once their scans are answered; a later scan opens new ones. */
  close(): Promise<void> {
    this.closing.abort();
    this.closing = new AbortController();
    return this.pool?.close() ?? Promise.resolve();
  }

  /** The exchange, in its turn: at most {@link SCANS_AT_ONCE} are under way at once. */
  private async exchange(
    input: FileInput,
    options: ScanOptions,
    deadline: ScanDeadline,
  ): Promise<Exchange> {
    const queued = this.slots.take(deadline.signal);
    if (queued !== undefined) {
      deadline.phase = this.phases.queued;
      await queued;
      deadline.phase = this.phases.reading;
    }
    try {
      return await this.exchangeInTurn(input, options, deadline);
    } finally {
      this.slots.give();
    }
  }

  /**
   * A small input is read whole first and then written on a shared session in one go; a
   * larger one, or any input when there is no pool, goes on a connection of its own as it is
   * read. A session that breaks before answering costs nothing: the bytes are still in
   * memory, and go again on a connection of their own.
   */
  private async exchangeInTurn(
    input: FileInput,
    options: ScanOptions,
    deadline: ScanDeadline,
  ): Promise<Exchange> {
    const read = new MeteredRead(input, {
      hashes: options.hashes,
      signal: deadline.signal,
      maxBytes: this.maxFileSize,
    });
    if (this.pool === undefined) {
      this.askVersion();
      return this.exchangeAlone(read, read.chunks(), deadline);
    }
    const chunks = read.chunks();
    const held: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const step = await chunks.next();
      if (step.done === true) break;
      held.push(step.value);
      size += step.value.byteLength;
      if (size <= this.sessionBytes) continue;
      try {
        return await this.exchangeAlone(read, resume(held, chunks), deadline);
      } finally {
        // Closes the input (its file) when the upload never began (no connection): a read
        // already stopped is not stopped twice, and one under way is not waited for.
        chunks.return().catch(() => {});
      }
    }
    const body = new InstreamBody(held, size, this.chunkSize);
    held.length = 0;
    const reply = await this.onSession(this.pool, body, deadline);
    if (reply !== undefined) {
      this.learnSizeBound(size, reply);
      return { reply, read };
    }
    const alone = await this.exchangeAlone(read, replay(body), deadline);
    // clamd may reset a session it refused before the refusal is read: the retry says so.
    this.learnSizeBound(size, alone.reply);
    return alone;
  }

  /**
   * clamd's StreamMaxLength may be below what sessions take: once it refuses an input, inputs
   * of that size go alone from then on. The bound drops to the largest size clamd took (or
   * half the refused one, when that is more), not just below the refused size, so inputs a
   * little smaller do not each end a session on the way down.
   */
  private learnSizeBound(size: number, reply: string): void {
    if (!SIZE_REFUSED.test(reply)) {
      if (size > this.largestAccepted) this.largestAccepted = size;
      return;
    }
    const bound = Math.min(size - 1, Math.max(this.largestAccepted, Math.floor(size / 2)));
    if (bound < this.sessionBytes) this.sessionBytes = bound;
  }

  /** clamd's reply to `body` on a shared session, or undefined when no session answered it. */
  private async onSession(
    pool: ClamdSessionPool,
    body: InstreamBody,
    deadline: ScanDeadline,
  ): Promise<string | undefined> {
    const session = pool.choose();
    if (session === undefined) return undefined;
    deadline.phase = this.phases.connecting;
    session.claims++;
    try {
      await session.ready;
    } finally {
      session.claims--;
    }
    deadline.signal.throwIfAborted();
    if (!session.usable) return undefined;
    this.askVersion(session);
    const answer = new Answer(deadline, this.phases.verdict);
    deadline.phase = this.phases.sending;
    answer.id = session.sendStream(body.wire, answer);
    try {
      const reply = await answer.settled(session, deadline.signal);
      return typeof reply === 'string' ? reply : undefined;
    } catch (error) {
      // The scan's turn lasts until its bytes are out of this process, so the bytes of scans
      // that gave up cannot pile up in sessions beyond the turns there are.
      await answer.sent;
      throw error;
    }
  }

  /** One scan on a connection of its own. */
  private async exchangeAlone(
    read: MeteredRead,
    body: AsyncIterable<Uint8Array>,
    deadline: ScanDeadline,
  ): Promise<Exchange> {
    deadline.phase = this.phases.connecting;
    const reply = await clamdCommand({
      endpoint: this.endpoint,
      command: 'INSTREAM',
      body,
      chunkSize: this.chunkSize,
      connectTimeoutMs: this.connectTimeoutMs,
      // Only a backstop: the deadline's own timer, which says what the scan was doing
      // ("sending the input"), must end it first. At exactly remaining() the two raced, and
      // this one's "did not answer INSTREAM" blamed clamd for an upload that had stalled.
      timeoutMs: deadline.remaining() + DEADLINE_FIRST_MS,
      signal: deadline.signal,
      progress: (step) => {
        deadline.phase = step === 'connected' ? this.phases.sending : this.phases.verdict;
      },
      engine: this.name,
    });
    return { reply, read };
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
   * clamd's version, when it comes within a moment (once: after one scan went without it, none
   * waits): a verdict is never held back for long, nor turned into a timeout, for want of it.
   */
  private versionSoon(deadline: ScanDeadline): Promise<string | undefined> {
    this.askVersion();
    const asked = this.versionAsked;
    if (asked === undefined || this.versionLate) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.versionLate = true;
          resolve(undefined);
        },
        Math.min(VERSION_GRACE_MS, deadline.remaining()),
      );
      asked.then((version) => {
        clearTimeout(timer);
        resolve(version);
      });
    });
  }

  /**
   * Learns clamd's version (`ClamAV 1.4.6`) once per scanner: on the session the first scans
   * use, just before their streams, or on a connection of its own. An answer lost or late is
   * asked again by a later scan; a reply that is not a version is not asked again.
   */
  private askVersion(session?: ClamdSession): void {
    if (this.engineVersion !== undefined || this.versionAsked !== undefined) return;
    // A question settled ends the lateness: the next one asked is waited for again.
    const learned = (reply: string): string | undefined => {
      if (VERSION_REPLY.test(reply)) this.engineVersion = reply.split('/')[0];
      this.versionLate = false;
      return this.engineVersion;
    };
    const forgotten = (): undefined => {
      this.versionAsked = undefined;
      this.versionLate = false;
      return undefined;
    };
    if (session === undefined) {
      this.versionAsked = clamdCommand({
        endpoint: this.endpoint,
        command: 'VERSION',
        chunkSize: this.chunkSize,
        connectTimeoutMs: this.connectTimeoutMs,
        timeoutMs: VERSION_TIMEOUT_MS,
        signal: this.closing.signal,
        unref: true,
        engine: this.name,
      }).then(learned, forgotten);
      return;
    }
    this.versionAsked = new Promise((resolve) => {
      // Unref'd: nothing waits on the version but scans, which keep the process alive themselves.
      const timer = setTimeout(() => {
        session.abandon(id, false);
        resolve(forgotten());
      }, VERSION_TIMEOUT_MS).unref();
      const id = session.send(
        VERSION,
        {
          answered: (reply) => {
            clearTimeout(timer);
            resolve(learned(reply));
          },
          lost: () => {
            clearTimeout(timer);
            resolve(forgotten());
          },
        },
        false,
      );
    });
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

const SIZE_REFUSED = /size limit exceeded/i;

/** Chunks already read, then the rest of the read they came from. */
async function* resume(
  held: readonly Uint8Array[],
  rest: AsyncGenerator<Uint8Array, void, undefined>,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    yield* held;
    yield* rest;
  } finally {
    // Stopped early (clamd hung up): the input still closes.
    await rest.return();
  }
}

/** An input in memory, as a body to send again. */
async function* replay(body: InstreamBody): AsyncGenerator<Uint8Array, void, undefined> {
  yield* body.pieces();
}

/** One INSTREAM on a session: clamd's reply, or the session's failure when it broke first. */
class Answer implements StreamRequest {
  id = 0;
  /** Resolves once the request's bytes have left for clamd, or the session broke. */
  readonly sent: Promise<void>;
  private readonly deadline: ScanDeadline;
  private readonly waitingPhase: string;
  private result: string | ScanError | undefined;
  private wake: ((result: string | ScanError) => void) | undefined;
  private wakeSent: () => void = () => {};

  constructor(deadline: ScanDeadline, waitingPhase: string) {
    this.deadline = deadline;
    this.waitingPhase = waitingPhase;
    this.sent = new Promise((resolve) => {
      this.wakeSent = resolve;
    });
  }

  written(): void {
    this.deadline.phase = this.waitingPhase;
    this.wakeSent();
  }

  answered(reply: string): void {
    this.settle(reply);
  }

  lost(error: ScanError): void {
    this.wakeSent();
    this.settle(error);
  }

  /** The reply or the loss; a scan that gives up first stops waiting, and its reply is dropped. */
  settled(session: ClamdSession, signal: AbortSignal): Promise<string | ScanError> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    if (signal.aborted) {
      session.abandon(this.id, timedOut(signal.reason));
      return Promise.reject(signal.reason);
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        session.abandon(this.id, timedOut(signal.reason));
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

/** The deadline ran out (rather than the caller giving up). */
function timedOut(reason: unknown): boolean {
  return reason instanceof ScanError && reason.kind === 'timeout';
}
