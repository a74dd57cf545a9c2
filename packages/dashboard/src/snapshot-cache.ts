import { safeJson } from './respond.js';

/** A value, and its JSON as sent. */
export interface Serialized<T> {
  readonly value: T;
  readonly body: Buffer;
}

/**
 * A read of every breaker (the snapshot of GET breakers and each stream's first event, the
 * health roll-up) serialized once and shared: at 100,000 breakers a snapshot is tens of MB and
 * most of a second of event loop, which no reader that needs no token may make the service pay
 * again and again. It is kept until the next sample or the next change of state, whichever is
 * first (`invalidate()`), so it is never behind on a state: the dashboard listens to state
 * changes while it holds one.
 */
export class SnapshotCache<T> {
  private held: Serialized<T> | undefined;

  constructor(private readonly build: () => T) {}

  get(): Serialized<T> {
    if (this.held === undefined) {
      const value = this.build();
      this.held = { value, body: Buffer.from(safeJson(value)) };
    }
    return this.held;
  }

  invalidate(): void {
    this.held = undefined;
  }
}
