import type { Logger } from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import type { ScanErrorKind } from './errors.js';
import type { PolicyActionType } from './policy/action.js';
import type { OutcomeType } from './result.js';

/**
 * How one engine's run in a scan ended, as the scan's report shows it: the verdict's type,
 * `fail_open` for a breaker's fail-open stand-in, or the kind of the engine's failure
 * (`circuit_open`, `timeout`, `connection_failed`, ...).
 */
export type EngineOutcome = OutcomeType | 'fail_open' | ScanErrorKind;

/** What a ScanManager has done since it was built: a fresh copy on every `stats()`. */
export interface ScanStats {
  /**
   * Every engine added, by name, with its runs by outcome. An outcome appears once it has
   * happened; an engine that has not run yet has `{}`.
   */
  readonly engines: { readonly [engine: string]: { readonly [O in EngineOutcome]?: number } };
  readonly decisions: { readonly [A in PolicyActionType]: number };
  /** Each scanned file's size once, however many engines read it (scans with a report only). */
  readonly bytesScanned: number;
  /** `completed`: scans that produced a report; `failed`: scans that threw a ScanError instead. */
  readonly scans: { readonly completed: number; readonly failed: number };
}

/** One engine's run in a scan, after the scan settled it. */
export interface EngineScanEvent {
  /** The engine's name as added to the manager (a fail-open stand-in counts under it too). */
  readonly engine: string;
  readonly outcome: EngineOutcome;
  /** From the engine's start to its result or failure, on the manager's clock. */
  readonly durationMs: number;
}

/** A policy decision made by `scanWithPolicy`. */
export interface ScanDecisionEvent {
  readonly action: PolicyActionType;
}

/** What a ScanManager tells its listeners, for metrics. */
export interface ScanEvents {
  engineScan: EngineScanEvent;
  decision: ScanDecisionEvent;
}

export type ScanEventName = keyof ScanEvents;
export type ScanListener<E extends ScanEventName> = (payload: ScanEvents[E]) => void;

export const SCAN_EVENTS: ReadonlySet<string> = new Set<ScanEventName>(['engineScan', 'decision']);

/** The code of the warning emitted for a throwing listener when the manager has no logger. */
export const LISTENER_ERROR_WARNING = 'SCANBRIDGE_LISTENER_ERROR';

type Lists = { [E in ScanEventName]: readonly ScanListener<E>[] };
type Counts = { [O in EngineOutcome]?: number };

/**
 * The manager's counters and listeners. Counters are plain numbers bumped in place in objects
 * made with the manager, so counting allocates nothing; a payload is built only for a listener.
 */
export class ScanCounters {
  private readonly names: readonly string[];
  /** Per engine, by its position among the manager's engines. */
  private readonly engines: readonly Counts[];
  private readonly decisions: { [A in PolicyActionType]: number } = {
    allow: 0,
    allow_with_warning: 0,
    quarantine: 0,
    block: 0,
    require_review: 0,
  };
  private bytes = 0;
  private completed = 0;
  private failed = 0;
  // Lists are replaced, never changed in place, so a listener may unsubscribe while called.
  private readonly lists: Lists = { engineScan: [], decision: [] };
  private readonly logger: Logger | undefined;

  constructor(engines: readonly string[], logger: Logger | undefined) {
    this.names = engines;
    this.engines = engines.map(() => ({}));
    this.logger = logger;
  }

  /** The engine at `index` among the manager's engines ran and ended with `outcome`. */
  engineRan(index: number, outcome: EngineOutcome, durationMs: number): void {
    const counts = this.engines[index] as Counts;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    const listeners = this.lists.engineScan;
    if (listeners.length === 0) return;
    this.emit('engineScan', listeners, {
      engine: this.names[index] as string,
      outcome,
      durationMs,
    });
  }

  decided(action: PolicyActionType): void {
    this.decisions[action]++;
    const listeners = this.lists.decision;
    if (listeners.length > 0) this.emit('decision', listeners, { action });
  }

  scanCompleted(size: number): void {
    this.completed++;
    this.bytes += size;
  }

  scanFailed(): void {
    this.failed++;
  }

  on<E extends ScanEventName>(event: E, listener: ScanListener<E>): () => void {
    const lists = this.lists as { [K in E]: readonly ScanListener<E>[] };
    lists[event] = [...lists[event], listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      // Only this subscription: the same function subscribed twice is heard once more, as in core.
      const list = lists[event];
      const at = list.indexOf(listener);
      if (at !== -1) lists[event] = [...list.slice(0, at), ...list.slice(at + 1)];
    };
  }

  snapshot(): ScanStats {
    return {
      // fromEntries defines own properties: an engine named "__proto__" is counted like any other.
      engines: Object.fromEntries(this.names.map((name, i) => [name, { ...this.engines[i] }])),
      decisions: { ...this.decisions },
      bytesScanned: this.bytes,
      scans: { completed: this.completed, failed: this.failed },
    };
  }

  private emit<E extends ScanEventName>(
    event: E,
    listeners: readonly ScanListener<E>[],
    payload: ScanEvents[E],
  ): void {
    for (let i = 0; i < listeners.length; i++) {
      try {
        (listeners[i] as ScanListener<E>)(payload);
      } catch (error) {
        this.report(event, error);
      }
    }
  }

  // A metrics listener that throws must never break a scan, and must never go unnoticed.
  private report(event: ScanEventName, error: unknown): void {
    const message = `ScanManager: a "${event}" listener threw`;
    if (this.logger !== undefined) {
      try {
        this.logger.error({ err: error, event }, message);
        return;
      } catch {
        // The logger failed too: the warning below still says what happened.
      }
    }
    // String() throws on some values (Object.create(null)): the report must not.
    const why = error instanceof Error ? error.message : describeValue(error);
    process.emitWarning(`${message}: ${why}`, { code: LISTENER_ERROR_WARNING });
  }
}
