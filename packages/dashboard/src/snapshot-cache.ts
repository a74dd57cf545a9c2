import type { Clock } from '@breakwater/core';
import { safeJson } from './respond.js';

/**
 * How long a read of every breaker is shared while states keep changing: at most four builds a
 * second, whatever the churn, and a reader is at most this far behind on a breaker's state.
 */
export const REBUILD_INTERVAL_MS = 250;
// Past this many bytes of state frames held for new streams, the next stream gets a new build:
// more is a churn a build is cheaper than.
const MAX_FRAME_BYTES = 1024 * 1024;

/** A value, and its JSON as sent. */
export interface Serialized<T> {
  readonly value: T;
  readonly body: Buffer;
  /** The `state` frames sent since it was built, oldest first: a stream gets them after it. */
  readonly frames: readonly string[];
}

interface Held<T> extends Serialized<T> {
  readonly builtAt: number;
  /** The registry's size at the build: a breaker registered or dropped since makes it stale. */
  readonly size: number;
  frames: string[];
  frameBytes: number;
  /** A state changed since the build. */
  changed: boolean;
}

/**
 * A read of every breaker (the snapshot of GET breakers and each stream's first event, the
 * health roll-up) serialized once and shared: at 100,000 breakers a snapshot is tens of MB and
 * most of a second of event loop, which no reader that needs no token may make the service pay
 * again and again. It is built again on the next read after a sample, a control (`invalidate()`)
 * or a change in the registry's size; after a change of state (`changed()`) only once it is
 * REBUILD_INTERVAL_MS old, so a churn of states costs a build per interval, not per read.
 */
export class SnapshotCache<T> {
  private held: Held<T> | undefined;

  constructor(
    private readonly build: () => T,
    private readonly clock: Clock,
    private readonly size: () => number,
  ) {}

  get holding(): boolean {
    return this.held !== undefined;
  }

  get(): Serialized<T> {
    const { held } = this;
    if (
      held !== undefined &&
      held.size === this.size() &&
      (!held.changed || this.clock.now() - held.builtAt < REBUILD_INTERVAL_MS)
    ) {
      return held;
    }
    const now = this.clock.now();
    // The size before the walk: a breaker registered during it makes the next read build again.
    const size = this.size();
    const value = this.build();
    const built: Held<T> = {
      value,
      body: Buffer.from(safeJson(value)),
      builtAt: now,
      size,
      frames: [],
      frameBytes: 0,
      changed: false,
    };
    this.held = built;
    return built;
  }

  /** A breaker changed state; `frame` is the `state` event that tells a stream of it. */
  changed(frame?: string): void {
    const { held } = this;
    if (held === undefined) return;
    held.changed = true;
    if (frame === undefined) return;
    held.frameBytes += frame.length;
    if (held.frameBytes > MAX_FRAME_BYTES) this.held = undefined;
    else held.frames.push(frame);
  }

  invalidate(): void {
    this.held = undefined;
  }
}
