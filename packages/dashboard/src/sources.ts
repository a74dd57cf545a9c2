import type { Logger } from '@breakwater/core';
import { reportFailure } from './report.js';

// The shapes below are the dashboard's own, written to match what @breakwater/authz and
// @breakwater/scanbridge return: they are optional peers, so the published types must not
// import from them (a consumer without them would fail to type-check).

/** Counts of checks decided by one source, by result. */
export interface DecisionCountsView {
  readonly allowed: number;
  readonly denied: number;
}

/** An AuthorizationService's `stats()`, as the page shows it. */
export interface AuthorizationStatsView {
  readonly checks: { readonly [source: string]: DecisionCountsView };
  /** Undefined when the service has no cache. */
  readonly cache:
    | {
        readonly entries: number;
        readonly hits: number;
        readonly misses: number;
        readonly evictions: number;
        readonly hitRate: number;
      }
    | undefined;
  /** By strategy, then by why SpiceDB did not decide (circuit_open, backend_error, timeout). */
  readonly fallbacks: { readonly [strategy: string]: { readonly [reason: string]: number } };
  readonly backend: {
    readonly calls: number;
    readonly errors: number;
    readonly latencyMs: { readonly count: number; readonly sum: number; readonly max: number };
  };
  readonly requestErrors: number;
}

/** A ScanManager's `stats()`, as the page shows it. */
export interface ScanStatsView {
  /** Each engine's runs by outcome (clean, infected, fail_open, timeout, ...). */
  readonly engines: {
    readonly [engine: string]: { readonly [outcome: string]: number | undefined };
  };
  /** Policy decisions by action (allow, allow_with_warning, quarantine, block, require_review). */
  readonly decisions: { readonly [action: string]: number };
  readonly bytesScanned: number;
  readonly scans: { readonly completed: number; readonly failed: number };
}

/** What the dashboard reads from an AuthorizationService: structural, so authz stays optional. */
export interface AuthorizationSource {
  readonly breaker: { readonly name: string };
  stats(): AuthorizationStatsView;
}

/** What the dashboard reads from a ScanManager: structural, so scanbridge stays optional. */
export interface ScanSource {
  stats(): ScanStatsView;
}

/**
 * The panels' figures of the moment; null for a source that failed, so the page shows its
 * panel as unavailable rather than keeping figures that are no longer live.
 */
export interface SourceStats {
  authorization?: (AuthorizationStatsView & { readonly breaker: string }) | null;
  scans?: ScanStatsView | null;
}

/**
 * Reads the panels' sources, each on its own: one that throws is sent as null (the
 * breakers' part of a snapshot or a `stats` event still goes out), and is reported once when it
 * starts failing, not on every sample while it keeps failing.
 */
export class Sources {
  private authorizationFailing = false;
  private scansFailing = false;

  constructor(
    private readonly authorization: AuthorizationSource | undefined,
    private readonly scans: ScanSource | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  read(): SourceStats {
    const out: SourceStats = {};
    const { authorization, scans } = this;
    if (authorization !== undefined) {
      try {
        out.authorization = { ...authorization.stats(), breaker: authorization.breaker.name };
        this.authorizationFailing = false;
      } catch (error) {
        if (!this.authorizationFailing) {
          reportFailure(this.logger, error, 'dashboard: the authorization stats failed');
        }
        this.authorizationFailing = true;
        out.authorization = null;
      }
    }
    if (scans !== undefined) {
      try {
        out.scans = scans.stats();
        this.scansFailing = false;
      } catch (error) {
        if (!this.scansFailing)
          reportFailure(this.logger, error, 'dashboard: the scan stats failed');
        this.scansFailing = true;
        out.scans = null;
      }
    }
    return out;
  }
}
