import type { ErrorCategory } from '@breakwater/core';
import type { CheckRequest, Decision, FallbackReason } from './types.js';

/**
 * What an {@link AuthorizationService} tells its listeners, for audit logs and metrics. Every
 * `request` is a frozen copy of the check as it was decided (never the caller's object, nor its
 * `signal`), so an audit log that serializes later records what was decided.
 */
export interface AuthorizationEvents {
  /** Every check that got a decision, from wherever it came; `durationMs` on the service's clock. */
  decision: { request: CheckRequest; decision: Decision; durationMs: number };
  /** A check the fallback strategy decided, and why SpiceDB did not. */
  fallback: {
    request: CheckRequest;
    decision: Decision;
    reason: FallbackReason;
    /** The backend's error; absent for `circuit_open`, where no call was made. */
    error?: unknown;
  };
  /**
   * A backend call failed, one event per distinct check it was asked: `configuration` is true
   * for a refused credential (a bad preshared key), which no retry or probe will fix.
   */
  backendError: {
    request: CheckRequest;
    error: unknown;
    category: ErrorCategory;
    configuration: boolean;
  };
}

export type AuthorizationEventName = keyof AuthorizationEvents;
export type AuthorizationListener<E extends AuthorizationEventName> = (
  payload: AuthorizationEvents[E],
) => void;

type Slot<E extends AuthorizationEventName> =
  | AuthorizationListener<E>
  | readonly AuthorizationListener<E>[]
  | undefined;

/**
 * The service's listener lists. A lone listener is stored without an array and an event nobody
 * listens to costs one property read, so callers test `has()` before building a payload. Lists
 * are replaced, never changed in place, so a listener may unsubscribe while being called.
 */
export class AuthorizationListeners {
  private decision: Slot<'decision'>;
  private fallback: Slot<'fallback'>;
  private backendError: Slot<'backendError'>;

  constructor(private readonly onListenerError: (error: unknown, event: string) => void) {}

  has(event: AuthorizationEventName): boolean {
    return this[event] !== undefined;
  }

  on<E extends AuthorizationEventName>(event: E, listener: AuthorizationListener<E>): () => void {
    const slot = this[event] as Slot<E>;
    this.set(
      event,
      slot === undefined ? listener : Array.isArray(slot) ? [...slot, listener] : [slot, listener],
    );
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.off(event, listener);
    };
  }

  emit<E extends AuthorizationEventName>(event: E, payload: AuthorizationEvents[E]): void {
    const slot = this[event] as Slot<E>;
    if (slot === undefined) return;
    if (!Array.isArray(slot)) {
      this.deliver(event, slot as AuthorizationListener<E>, payload);
      return;
    }
    for (const listener of slot as readonly AuthorizationListener<E>[])
      this.deliver(event, listener, payload);
  }

  clear(): void {
    this.decision = this.fallback = this.backendError = undefined;
  }

  private set<E extends AuthorizationEventName>(event: E, slot: Slot<E>): void {
    (this as unknown as Record<E, Slot<E>>)[event] = slot;
  }

  private off<E extends AuthorizationEventName>(
    event: E,
    listener: AuthorizationListener<E>,
  ): void {
    const slot = this[event] as Slot<E>;
    if (slot === listener) {
      this.set(event, undefined);
      return;
    }
    if (!Array.isArray(slot)) return;
    const list = slot as readonly AuthorizationListener<E>[];
    const at = list.indexOf(listener);
    if (at < 0) return;
    const rest = [...list.slice(0, at), ...list.slice(at + 1)];
    this.set(event, rest.length === 1 ? rest[0] : rest);
  }

  // An audit or metrics listener that throws must never change a decision nor break a check.
  private deliver<E extends AuthorizationEventName>(
    event: E,
    listener: AuthorizationListener<E>,
    payload: AuthorizationEvents[E],
  ): void {
    try {
      listener(payload);
    } catch (error) {
      this.onListenerError(error, event);
    }
  }
}
