import type { Socket } from 'node:net';
import { ScanError } from '../errors.js';
import { overlongReply } from './clamd-client.js';
import { ClamdReplySplitter } from './clamd-replies.js';
import {
  type ClamdEndpoint,
  canWrite,
  commandBytes,
  connectTimedOut,
  connectTo,
  describeEndpoint,
  END_OF_STREAM,
  socketFailure,
  writeFailure,
} from './clamd-wire.js';

/** How one request on a session ends: with clamd's reply, or without it. */
export interface SessionRequest {
  answered(reply: string): void;
  /** The session broke before this request's reply came. */
  lost(error: ScanError): void;
}

export interface SessionOptions {
  readonly endpoint: ClamdEndpoint;
  readonly engine: string;
  readonly connectTimeoutMs: number;
  /** A session with nothing to do closes after this long (between one and two times it). */
  readonly idleMs: number;
  /** Told once, when the session can carry no more requests. */
  readonly onClosed: (session: ClamdSession) => void;
}

const IDSESSION = commandBytes('IDSESSION');
const END = commandBytes('END');

/**
 * One clamd connection in IDSESSION mode: many commands, one after another on the wire, whose
 * replies come back as clamd finishes them, each prefixed with its request number
 * (`3: stream: OK`). Writing is one request at a time (the pool hands out the writer); any
 * number of replies may be outstanding. The socket keeps the process alive only while a reply
 * is awaited.
 */
export class ClamdSession {
  /** Resolves once connected; rejects with the reason it could not connect. */
  readonly ready: Promise<void>;
  /** A scan holds the writer: the pool gives it to one scan at a time. */
  writing = false;
  private readonly options: SessionOptions;
  private readonly socket: Socket;
  private readonly replies: ClamdReplySplitter;
  /** Requests sent and not answered; an abandoned one (its scan gave up) maps to undefined. */
  private readonly waiting = new Map<number, SessionRequest | undefined>();
  /** Waiting requests whose scans still want the answer: these keep the process alive. */
  private awaited = 0;
  private sent = 0;
  private failure: ScanError | undefined;
  private closed = false;
  private lastActive = Date.now();
  private readonly idleTimer: NodeJS.Timeout;
  private rejectReady: (error: ScanError) => void = () => {};

  constructor(options: SessionOptions) {
    this.options = options;
    this.replies = new ClamdReplySplitter((reply) => this.onReply(reply));
    this.socket = connectTo(options.endpoint);
    this.socket.setNoDelay(true);
    this.idleTimer = setTimeout(() => this.closeIfIdle(), options.idleMs).unref();
    this.ready = new Promise<void>((resolve, reject) => {
      const connectTimer = setTimeout(() => {
        this.fail(connectTimedOut(options.engine, options.endpoint, options.connectTimeoutMs));
      }, options.connectTimeoutMs);
      this.socket.once('connect', () => {
        clearTimeout(connectTimer);
        this.socket.write(IDSESSION);
        resolve();
      });
      this.rejectReady = (error) => {
        clearTimeout(connectTimer);
        reject(error);
      };
    });
    // The opener of a session waits on `ready`; others learn of a failure from `lost`.
    this.ready.catch(() => {});
    this.socket.on('data', (packet: Buffer) => {
      if (!this.replies.push(packet)) {
        this.fail(overlongReply(options.engine, options.endpoint, this.replies.maxBytes));
      }
    });
    this.socket.on('error', (error: NodeJS.ErrnoException) =>
      this.fail(socketFailure(error, options.engine, options.endpoint)),
    );
    this.socket.on('close', () => this.onClose());
    // clamd hung up: whatever replies are still in flight may come, but nothing more can go.
    this.socket.on('end', () => {
      this.closed = true;
    });
  }

  /** Open, and able to take another request. */
  get usable(): boolean {
    return !this.closed && this.failure === undefined && canWrite(this.socket);
  }

  /** The socket, for the writer to stream a request's body on. */
  get wire(): Socket {
    return this.socket;
  }

  /** Writes `z<command>\0`; its reply goes to `request`. Returns the request's number. */
  send(command: Buffer, request: SessionRequest): number {
    const id = ++this.sent;
    this.waiting.set(id, request);
    this.awaited++;
    this.touch();
    if (canWrite(this.socket)) this.socket.write(command);
    return id;
  }

  /** Ends an INSTREAM body (whole or given up: clamd scans what it got either way). */
  endStream(): void {
    if (canWrite(this.socket)) this.socket.write(END_OF_STREAM);
  }

  /** The scan behind request `id` gave up: its reply, when it comes, is dropped. */
  abandon(id: number): void {
    if (this.waiting.get(id) === undefined) return;
    this.waiting.set(id, undefined);
    this.awaited--;
    this.touch();
  }

  /** Whether writes are still queued that clamd has not taken: it is not reading. */
  get backlogged(): boolean {
    return this.socket.writableLength > 0;
  }

  /** Breaks the session: every request still waiting is lost with `error`. */
  fail(error: ScanError): void {
    this.failure ??= error;
    this.socket.destroy();
  }

  /** Done writing for now (the pool calls this when a scan hands the writer back). */
  released(): void {
    this.writing = false;
    this.touch();
    if (this.closed && this.awaited === 0) this.hangUp();
  }

  /** Says END and closes once the replies owed are in; resolves when the socket is closed. */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    const closing = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.closed = true;
    if (this.awaited === 0 && !this.writing) this.hangUp();
    return closing;
  }

  private hangUp(): void {
    this.closed = true;
    if (this.socket.writableEnded) return;
    if (canWrite(this.socket)) this.socket.end(END, () => this.socket.destroy());
    else this.socket.destroy();
  }

  /** Keeps the process alive only while a scan waits on this session. */
  private touch(): void {
    this.lastActive = Date.now();
    if (this.awaited > 0 || this.writing) this.socket.ref();
    else this.socket.unref();
  }

  private closeIfIdle(): void {
    if (this.socket.destroyed) return;
    const idle = this.awaited === 0 && !this.writing;
    if (idle && Date.now() - this.lastActive >= this.options.idleMs) this.hangUp();
    else this.idleTimer.refresh();
  }

  private onReply(line: string): void {
    const colon = line.indexOf(': ');
    const id = colon > 0 ? Number(line.slice(0, colon)) : Number.NaN;
    if (!this.waiting.has(id)) {
      this.fail(
        new ScanError(
          'ambiguous_response',
          `${this.options.engine}: clamd at ${describeEndpoint(this.options.endpoint)} sent a reply for no request of this session: ${JSON.stringify(line.slice(0, 200))}`,
          { engine: this.options.engine },
        ),
      );
      return;
    }
    const request = this.waiting.get(id);
    this.waiting.delete(id);
    // clamd ends a session after an error (a stream over StreamMaxLength): send nothing more on it.
    if (line.endsWith(' ERROR')) this.closed = true;
    if (request !== undefined) {
      this.awaited--;
      this.touch();
      request.answered(line.slice(colon + 2).trim());
    }
    if (this.closed && this.awaited === 0 && !this.writing) this.hangUp();
  }

  private onClose(): void {
    clearTimeout(this.idleTimer);
    const failedWrite = writeFailure(this.socket);
    const error =
      this.failure ??
      (failedWrite && socketFailure(failedWrite, this.options.engine, this.options.endpoint)) ??
      new ScanError(
        'connection_failed',
        `${this.options.engine}: clamd at ${describeEndpoint(this.options.endpoint)} closed the connection before answering`,
        { engine: this.options.engine },
      );
    this.failure = error;
    this.closed = true;
    this.rejectReady(error);
    const lost = [...this.waiting.values()];
    this.waiting.clear();
    this.awaited = 0;
    this.options.onClosed(this);
    for (const request of lost) request?.lost(error);
  }
}
