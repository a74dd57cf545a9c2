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
  socketFailure,
  writeFailure,
} from './clamd-wire.js';

/** How one request on a session ends: with clamd's reply, or without it. */
export interface SessionRequest {
  answered(reply: string): void;
  /** The session broke before this request's reply came. */
  lost(error: ScanError): void;
}

/** An INSTREAM request, told when its bytes have all left for clamd (or never will). */
export interface StreamRequest extends SessionRequest {
  written(): void;
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

/** A request sent and not answered; `request` is undefined once its scan gave up. */
interface Owed {
  request: SessionRequest | undefined;
  /** Replies this session had received when the request was sent. */
  readonly heardBefore: number;
  /** A scan waits on it: the session stays open, and keeps the process alive, for it. */
  readonly kept: boolean;
  /** Some of its bytes are still in this side's socket buffer: clamd has not read them. */
  unsent: boolean;
}

const IDSESSION = commandBytes('IDSESSION');
const END = commandBytes('END');

/** Bytes not yet taken by clamd that weigh as much as one more scan owed on a session. */
const LOAD_BYTES = 256 * 1024;
/** Above this many bytes not yet taken by clamd, a session takes no more scans for now. */
const BACKLOG_BYTES = 1024 * 1024;
/**
 * How long a session saying END may take to get it out: bytes of given-up scans that clamd is
 * not reading are not waited for.
 */
const HANGUP_GRACE_MS = 100;

/**
 * One clamd connection in IDSESSION mode: many commands, one after another on the wire, whose
 * replies come back as clamd finishes them, each prefixed with its request number
 * (`3: stream: OK`). A request is written whole in one go, its body included (see
 * {@link ClamdSession.sendStream}), so requests never interleave and none is ever left half
 * sent; any number of replies may be outstanding. The socket keeps the process alive only
 * while a reply is awaited.
 */
export class ClamdSession {
  /** Resolves once connected; rejects with the reason it could not connect. */
  readonly ready: Promise<void>;
  /** Scans that chose this session and wait for it to connect (the pool's count). */
  claims = 0;
  private readonly options: SessionOptions;
  private readonly socket: Socket;
  private readonly replies: ClamdReplySplitter;
  private readonly waiting = new Map<number, Owed>();
  /** Waiting requests whose scans still want the answer: these keep the process alive. */
  private awaited = 0;
  private sent = 0;
  private heard = 0;
  private failure: ScanError | undefined;
  private closed = false;
  private lastActive = Date.now();
  private readonly idleTimer: NodeJS.Timeout;
  private hangUpTimer: NodeJS.Timeout | undefined;
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
    // The scans that chose this session wait on `ready`; others learn of a failure from `lost`.
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

  /**
   * Replies owed to scans that still wait, scans waiting for it to connect, and bytes clamd
   * has not read yet (a given-up scan's upload still costs the scans behind it).
   */
  get load(): number {
    return this.awaited + this.claims + Math.ceil(this.socket.writableLength / LOAD_BYTES);
  }

  /** So many bytes wait for clamd to read them that a scan is better off on its own connection. */
  get backlogged(): boolean {
    return this.socket.writableLength > BACKLOG_BYTES;
  }

  /**
   * Writes `z<command>\0`; its reply goes to `request`. Returns the request's number. A
   * request not `kept` (VERSION, asked on the side) neither keeps the session open nor the
   * process alive: it is lost if the session closes first.
   */
  send(command: Buffer, request: SessionRequest, kept: boolean): number {
    const id = this.expect(request, kept);
    this.socket.write(command);
    return id;
  }

  /**
   * One INSTREAM, `wire` being the whole request (see {@link InstreamBody}), written in one go:
   * nothing the caller does later (an abort, a timeout) can leave it half sent, so the session
   * stays in step for every other scan it carries.
   */
  sendStream(wire: Uint8Array, request: StreamRequest): number {
    const id = this.expect(request, true);
    const owed = this.waiting.get(id);
    if (owed !== undefined) owed.unsent = true;
    this.socket.write(wire, () => {
      if (owed !== undefined) owed.unsent = false;
      request.written();
    });
    return id;
  }

  /**
   * The scan behind request `id` gave up: its reply, when it comes, is dropped. When it gave
   * up for want of an answer and the session has said nothing at all since the request went
   * out, or clamd has not even read all of it, clamd is not keeping up on it: the session
   * takes no more requests.
   */
  abandon(id: number, timedOut: boolean): void {
    const owed = this.waiting.get(id);
    if (owed?.request === undefined) return;
    owed.request = undefined;
    if (owed.kept) this.awaited--;
    if (timedOut && (owed.unsent || owed.heardBefore === this.heard)) this.closed = true;
    this.touch();
    if (this.closed && this.awaited === 0) this.hangUp();
  }

  /**
   * Says END and closes once the replies owed are in (bytes clamd is not reading are not
   * waited for); resolves when the socket is closed.
   */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    const closing = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.closed = true;
    if (this.awaited === 0) this.hangUp();
    return closing;
  }

  private expect(request: SessionRequest, kept: boolean): number {
    const id = ++this.sent;
    this.waiting.set(id, { request, heardBefore: this.heard, kept, unsent: false });
    if (kept) this.awaited++;
    this.touch();
    return id;
  }

  private fail(error: ScanError): void {
    this.failure ??= error;
    this.socket.destroy();
  }

  private hangUp(): void {
    this.closed = true;
    if (this.socket.writableEnded) return;
    if (!canWrite(this.socket)) {
      this.socket.destroy();
      return;
    }
    this.socket.end(END, () => this.socket.destroy());
    this.hangUpTimer = setTimeout(() => this.socket.destroy(), HANGUP_GRACE_MS);
  }

  /** Keeps the process alive only while a scan waits on this session. */
  private touch(): void {
    this.lastActive = Date.now();
    if (this.awaited > 0) this.socket.ref();
    else this.socket.unref();
  }

  private closeIfIdle(): void {
    if (this.socket.destroyed) return;
    if (this.load === 0 && Date.now() - this.lastActive >= this.options.idleMs) this.hangUp();
    else this.idleTimer.refresh();
  }

  private onReply(line: string): void {
    this.heard++;
    const colon = line.indexOf(': ');
    const id = colon > 0 ? Number(line.slice(0, colon)) : Number.NaN;
    const owed = this.waiting.get(id);
    if (owed === undefined) {
      this.fail(
        new ScanError(
          'ambiguous_response',
          `${this.options.engine}: clamd at ${describeEndpoint(this.options.endpoint)} sent a reply for no request of this session: ${JSON.stringify(line.slice(0, 200))}`,
          { engine: this.options.engine },
        ),
      );
      return;
    }
    this.waiting.delete(id);
    // clamd ends a session after an error (a stream over StreamMaxLength): send nothing more on it.
    if (line.endsWith(' ERROR')) this.closed = true;
    const { request } = owed;
    if (request !== undefined) {
      if (owed.kept) this.awaited--;
      this.touch();
      request.answered(line.slice(colon + 2).trim());
    }
    if (this.closed && this.awaited === 0) this.hangUp();
  }

  private onClose(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.hangUpTimer);
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
    for (const owed of lost) owed.request?.lost(error);
  }
}
