import { ClamdSession, type SessionOptions } from './clamd-session.js';

export interface PoolOptions extends Omit<SessionOptions, 'onClosed'> {
  /** Sessions open at most. */
  readonly maxSessions: number;
}

interface Waiter {
  readonly signal: AbortSignal | undefined;
  resolve(session: ClamdSession): void;
  reject(error: unknown): void;
}

/**
 * A few clamd sessions shared by every scan of a scanner. A scan borrows a session's writer
 * for its upload only and waits for its reply after giving the writer back, so one session
 * carries many scans at once. Sessions open on demand, close when idle, and never keep the
 * process alive unless a scan waits on them.
 */
export class ClamdSessionPool {
  private readonly options: PoolOptions;
  private readonly sessions = new Set<ClamdSession>();
  private readonly waiters: Waiter[] = [];

  constructor(options: PoolOptions) {
    this.options = options;
  }

  /** A session whose writer is the caller's until it calls {@link release}. */
  acquire(signal: AbortSignal | undefined): Promise<ClamdSession> {
    let open = 0;
    for (const session of this.sessions) {
      if (!session.usable) continue;
      if (!session.writing) {
        session.writing = true;
        return Promise.resolve(session);
      }
      open++;
    }
    if (open < this.options.maxSessions) return this.open();
    return new Promise((resolve, reject) => this.waiters.push({ signal, resolve, reject }));
  }

  /** Gives a session's writer back, to the longest waiting scan if there is one. */
  release(session: ClamdSession): void {
    session.released();
    if (session.usable && this.handOver(session)) return;
    if (!session.usable) this.openForWaiter();
  }

  /** Closes every session once its owed replies are in. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((session) => session.close()));
  }

  private open(): Promise<ClamdSession> {
    const session = new ClamdSession({
      ...this.options,
      onClosed: (closed) => this.closed(closed),
    });
    session.writing = true;
    this.sessions.add(session);
    return session.ready.then(() => session);
  }

  private closed(session: ClamdSession): void {
    this.sessions.delete(session);
    this.openForWaiter();
  }

  /** The next waiter still waiting, dropping those whose scans gave up. */
  private nextWaiter(): Waiter | undefined {
    let waiter = this.waiters.shift();
    while (waiter?.signal?.aborted === true) {
      waiter.reject(waiter.signal.reason);
      waiter = this.waiters.shift();
    }
    return waiter;
  }

  private handOver(session: ClamdSession): boolean {
    const waiter = this.nextWaiter();
    if (waiter === undefined) return false;
    session.writing = true;
    waiter.resolve(session);
    return true;
  }

  private openForWaiter(): void {
    if (this.waiters.length === 0) return;
    let open = 0;
    for (const session of this.sessions) if (session.usable) open++;
    if (open >= this.options.maxSessions) return;
    const waiter = this.nextWaiter();
    if (waiter !== undefined) this.open().then(waiter.resolve, waiter.reject);
  }
}
