import type { Clock } from '@breakwater/core';
import { safeJson } from './respond.js';

/**
 * How long a read of every breaker is shared while states keep changing: at most four builds a
 * second, whatever the churn, and a reader is at most this far behind on a breaker's state.
 */
export const REBUILD_INTERVAL_MS = 250;
// State frames held for new streams, in bytes, up to the larger of this and the build itself:
// past that a new build costs a stream less than the frames would.
const MIN_FRAME_BYTES = 1024 * 1024;

/** A value, and its JSON as sent. */
export interface Serialized<T> {
  readonly value: T;
  readonly body: Buffer;
  /** The `state` frames sent since it was built, oldest first: a stream gets them after it. */
  readonly frames: readonly string[];
}

interface Held<T> extends Serialized<T> {
  readonly builtAt: number;
  /** The registry's version at the build: a breaker added or removed since makes it stale. */
  readonly version: number;
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
 * or a breaker added to or removed from the registry (its `version`); after a change of state (`changed()`) only once it is
 * REBUILD_INTERVAL_MS old, so a churn of states costs a build per interval, not per read.
 */
export class SnapshotCache<T> {
  private held: Held<T> | undefined;

  constructor(
    private readonly build: () => T,
    private readonly clock: Clock,
    private readonly version: () => number,
  ) {}

  get holding(): boolean {
    return this.held !== undefined;
  }

  get(): Serialized<T> {
    const { held } = this;
    if (
      held !== undefined &&
      held.version === this.version() &&
      (!held.changed || this.clock.now() - held.builtAt < REBUILD_INTERVAL_MS)
    ) {
      return held;
    }
    const now = this.clock.now();
    // The version before the walk: a breaker added during it makes the next read build again.
    const version = this.version();
    const value = this.build();
    const built: Held<T> = {
      value,
      body: Buffer.from(safeJson(value)),
      builtAt: now,
      version,
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
    held.frameBytes += Buffer.byteLength(frame);
    if (held.frameBytes > Math.max(MIN_FRAME_BYTES, held.body.length)) this.held = undefined;
    else held.frames.push(frame);
  }

  invalidate(): void {
    this.held = undefined;
  }
}
