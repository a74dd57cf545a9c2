import type { ServerResponse } from 'node:http';
import type { Clock } from '@breakwater/core';
import { every } from './timer.js';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
export const PING_INTERVAL_MS = 15_000;
// A client this far behind its snapshot (a stalled tab, a dead link the kernel has not noticed
// yet) is dropped rather than buffered for without end; its EventSource reconnects and starts
// over. Counted past the snapshot, which for 10,000 breakers alone is about 3 MB.
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
// How soon a dropped EventSource tries again: the page is live, a second matters.
const RETRY_MS = 1000;

export interface SseHubOptions {
  readonly maxClients: number;
  readonly clock: Clock;
  /** The first stream opened: start following what streams are told. */
  readonly onFirstClient: () => void;
  /** The last stream closed. */
  readonly onLastClient?: (() => void) | undefined;
}

/** The open `events` streams: bounded, each removed as soon as its connection closes. */
export class SseHub {
  /** Each open stream, with the backlog past which it is dropped. */
  private readonly clients = new Map<ServerResponse, number>();
  private stopPing: (() => void) | undefined;

  constructor(private readonly options: SseHubOptions) {}

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.options.maxClients;
  }

  /**
   * Starts a stream on `res` with the snapshot's `parts` (one line of JSON, in pieces) as its
   * first event, then `frames` (events already framed); the caller checked `full`. A response
   * already gone is left alone.
   */
  open(res: ServerResponse, parts: readonly (string | Buffer)[], frames: readonly string[]): void {
    if (gone(res)) return;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // nginx buffers responses unless told not to: events would arrive in bursts.
      'X-Accel-Buffering': 'no',
    });
    res.on('close', () => this.remove(res));
    const head = `retry: ${RETRY_MS}\nevent: snapshot\ndata: `;
    let bytes = Buffer.byteLength(head) + 2 + MAX_BACKLOG_BYTES;
    for (const part of parts) bytes += Buffer.byteLength(part);
    for (const text of frames) bytes += Buffer.byteLength(text);
    this.clients.set(res, bytes);
    if (this.clients.size === 1) {
      this.options.onFirstClient();
      this.stopPing = every(this.options.clock, PING_INTERVAL_MS, () => this.write(': ping\n\n'));
    }
    // In pieces: the snapshot's body is shared by every stream opened before the next build.
    res.write(head);
    for (const part of parts) res.write(part);
    this.send(res, `\n\n${frames.join('')}`);
  }

  /** Sends `data` (one line of JSON) as an `event` to every stream. */
  broadcast(event: string, data: string): void {
    this.write(frame(event, data));
  }

  /** Sends an event already framed (`frame()`) to every stream. */
  broadcastFrame(text: string): void {
    this.write(text);
  }

  /** Ends every stream. */
  close(): void {
    for (const res of [...this.clients.keys()]) {
      this.remove(res);
      res.end();
    }
  }

  private write(text: string): void {
    for (const res of this.clients.keys()) this.send(res, text);
  }

  private send(res: ServerResponse, text: string): void {
    res.write(text);
    if (!gone(res) && res.writableLength <= (this.clients.get(res) ?? 0)) return;
    res.destroy();
    // Gone now, not at its 'close': nothing more is written to it, its slot is free.
    this.remove(res);
  }

  private remove(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size > 0) return;
    this.stopPing?.();
    this.stopPing = undefined;
    this.options.onLastClient?.();
  }
}

/**
 * A response whose connection is closed: its 'close' has been emitted already (the client left
 * before the handler ran, behind an asynchronous middleware), so it must never take a slot.
 * A pipelined request's response has no socket until the answers before it are sent: its
 * request's socket tells whether the connection is still there.
 */
export function gone(res: ServerResponse): boolean {
  const socket = res.socket ?? res.req.socket;
  return res.destroyed || res.writableEnded || socket.destroyed;
}

/** An event as a stream carries it. */
export function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
