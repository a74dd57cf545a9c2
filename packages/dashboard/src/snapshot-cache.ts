import { safeJson } from './respond.js';

/**
 * The snapshot (GET breakers, each stream's first event) serialized once and shared: at 100,000
 * breakers one is tens of MB and most of a second of event loop, which no reader that needs no
 * token may make the service pay again and again. It is kept until the next sample or the next
 * change of state, whichever is first (`invalidate()`), so it is never behind on a state: the
 * dashboard listens to state changes while it holds one.
 */
export class SnapshotCache {
  private body: Buffer | undefined;

  constructor(private readonly build: () => unknown) {}

  get held(): boolean {
    return this.body !== undefined;
  }

  get(): Buffer {
    this.body ??= Buffer.from(safeJson(this.build()));
    return this.body;
  }

  invalidate(): void {
    this.body = undefined;
  }
}
