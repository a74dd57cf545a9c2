import { ClamdSession, type SessionOptions } from './clamd-session.js';

export interface PoolOptions extends Omit<SessionOptions, 'onClosed'> {
  /** Sessions open at most. */
  readonly maxSessions: number;
}

/**
 * A few clamd sessions shared by every scan of a scanner. A scan writes its whole request on
 * a session at once and waits for its reply there, so one session carries many scans at once
 * and no scan ever waits for another's upload. Sessions open on demand, close when idle, and
 * never keep the process alive unless a scan waits on them.
 */
export class ClamdSessionPool {
  private readonly options: PoolOptions;
  private readonly sessions = new Set<ClamdSession>();

  constructor(options: PoolOptions) {
    this.options = options;
  }

  /**
   * The least busy session, a new one while there are fewer than `maxSessions` and every one
   * is busy, or undefined when none can take a request (all closing, or with more bytes than
   * clamd is reading): the scan then goes on a connection of its own. Sessions still closing count, so no more sockets than
   * `maxSessions` are ever kept.
   */
  choose(): ClamdSession | undefined {
    let best: ClamdSession | undefined;
    for (const session of this.sessions) {
      if (session.usable && !session.backlogged && (best === undefined || session.load < best.load))
        best = session;
    }
    if (best !== undefined && best.load === 0) return best;
    if (this.sessions.size < this.options.maxSessions) return this.open();
    return best;
  }

  /** Closes every session once its owed replies are in. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((session) => session.close()));
  }

  private open(): ClamdSession {
    const session = new ClamdSession({
      ...this.options,
      onClosed: (closed) => this.sessions.delete(closed),
    });
    this.sessions.add(session);
    return session;
  }
}
