import type { Logger } from '@breakwater/core';

/** What a caller asked the gateway to do. */
export type AuditAction =
  | 'scan'
  | 'quarantine_list'
  | 'quarantine_view'
  | 'quarantine_download'
  | 'quarantine_release'
  | 'quarantine_delete';

/** How it ended: done, or refused and why. */
export type AuditOutcome =
  | 'ok'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'bad_request'
  | 'failed';

export interface AuditEntry {
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  /** The caller's SpiceDB subject; absent when no token matched. */
  readonly subject?: string | undefined;
  readonly tenant?: string | undefined;
  /** The quarantine id acted on. */
  readonly id?: string | undefined;
  readonly requestId: string;
  /** Whatever else says what happened (decisions, the missing permission, the error code). */
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * One line per action and per refusal, `event: 'gateway_audit'`, through the gateway's logger:
 * done at info, refused at warn. Never the token, never file contents.
 */
export function audit(logger: Logger, entry: AuditEntry): void {
  const { detail, ...fields } = entry;
  const line = { event: 'gateway_audit', ...fields, ...detail };
  const message = `${entry.action} ${entry.outcome}${entry.subject === undefined ? '' : ` by ${entry.subject}`}${entry.tenant === undefined ? '' : ` for tenant ${entry.tenant}`}`;
  if (entry.outcome === 'ok') logger.info(line, message);
  else logger.warn(line, message);
}
