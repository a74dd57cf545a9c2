import type { ErrorCategory } from './failure-policy.js';
import type { FallbackReason } from './fallback.js';
import type { StateName } from './state.js';

/** Why the breaker changed state. */
export type TransitionReason =
  | 'failure_threshold'
  | 'failure_rate'
  | 'slow_call_rate'
  | 'probe_failed'
  | 'probe_slow'
  | 'half_open_timeout'
  | 'probes_succeeded'
  | 'open_elapsed'
  | 'forced_open'
  | 'forced_close'
  | 'disabled'
  | 'reset';

/** Every event a breaker emits, with its payload. */
export interface BreakerEvents {
  stateChange: { breaker: string; from: StateName; to: StateName; reason: TransitionReason };
  open: {
    breaker: string;
    reason: TransitionReason;
    openedAt: number;
    until: number;
    attempt: number;
  };
  close: { breaker: string; reason: TransitionReason };
  /** In `mode: 'observe'`: a trip rule fired; an enforcing breaker would have opened now. */
  wouldOpen: { breaker: string; reason: TransitionReason };
  halfOpen: { breaker: string };
  /** `durationMs` is absent for a call that started before the first listener was added. */
  success: { breaker: string; durationMs?: number };
  failure: { breaker: string; error: unknown; category: ErrorCategory; durationMs?: number };
  ignored: { breaker: string; error: unknown; category: ErrorCategory; durationMs?: number };
  rejected: { breaker: string; reason: 'open' | 'half_open_full'; retryAfter: number };
  timeout: { breaker: string; timeoutMs: number };
  fallback: { breaker: string; reason: FallbackReason; error?: unknown };
}

export type BreakerEventName = keyof BreakerEvents;
export type Listener<P> = (payload: P) => void;

type Slots<M> = { [K in keyof M]?: Listener<M[K]> | readonly Listener<M[K]>[] };

/**
 * A tiny typed listener list. A lone listener is stored without an array, and an
 * event nobody listens to costs one property read. Lists are copied on change, so a
 * listener may unsubscribe itself while the event is being delivered.
 *
 * Events are delivered one at a time, in the order they were posted: an event posted while a
 * listener runs (a listener that moves the breaker on) waits until the events before it have
 * reached every listener, so nobody hears a later change before an earlier one.
 */
export class Listeners<M> {
  private slots: Slots<M> = {};
  /** Posted and not yet delivered: event name, payload, event name, payload, ... */
  private queue: unknown[] = [];
  private delivering = false;

  constructor(private readonly onListenerError: (error: unknown, event: keyof M) => void) {}

  has(event: keyof M): boolean {
    return this.slots[event] !== undefined;
  }

  on<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    const slot = this.slots[event];
    this.slots[event] =
      slot === undefined ? listener : Array.isArray(slot) ? [...slot, listener] : [slot, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.off(event, listener);
    };
  }

  emit<K extends keyof M>(event: K, payload: M[K]): void {
    this.post(event, payload);
    this.flush();
  }

  /** Queues an event for the next `flush()`: events that belong together are posted, then flushed. */
  post<K extends keyof M>(event: K, payload: M[K]): void {
    if (this.slots[event] !== undefined) this.queue.push(event, payload);
  }

  /** Delivers what is queued, unless a delivery is under way: then that one delivers it, after. */
  flush(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let i = 0; i < this.queue.length; i += 2)
        this.deliverAll(this.queue[i] as keyof M, this.queue[i + 1] as M[keyof M]);
    } finally {
      this.queue.length = 0;
      this.delivering = false;
    }
  }

  clear(): void {
    this.slots = {};
    this.queue.length = 0;
  }

  private deliverAll<K extends keyof M>(event: K, payload: M[K]): void {
    const slot = this.slots[event];
    if (slot === undefined) return;
    if (!Array.isArray(slot)) {
      this.deliver(event, slot as Listener<M[K]>, payload);
      return;
    }
    for (const listener of slot as readonly Listener<M[K]>[])
      this.deliver(event, listener, payload);
  }

  private off<K extends keyof M>(event: K, listener: Listener<M[K]>): void {
    const slot = this.slots[event];
    if (slot === listener) {
      delete this.slots[event];
    } else if (Array.isArray(slot)) {
      const list = slot as readonly Listener<M[K]>[];
      const at = list.indexOf(listener);
      if (at < 0) return;
      const rest = [...list.slice(0, at), ...list.slice(at + 1)];
      this.slots[event] = rest.length === 1 ? rest[0] : rest;
    }
  }

  // A listener that throws must never break the call that emitted the event.
  private deliver<K extends keyof M>(event: K, listener: Listener<M[K]>, payload: M[K]): void {
    try {
      listener(payload);
    } catch (error) {
      this.onListenerError(error, event);
    }
  }
}
