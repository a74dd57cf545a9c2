import { CapturingLogger as AuthzCapturingLogger } from '../../../authz/test/capturing-logger.js';

export type { LogEntry } from '../../../authz/test/capturing-logger.js';

/** authz's capturing logger, which keeps every entry, and the gateway's audit lines picked out. */
export class CapturingLogger extends AuthzCapturingLogger {
  /** The gateway's audit lines (`event: 'gateway_audit'`), optionally of one action. */
  audits(action?: string): Record<string, unknown>[] {
    return this.entries
      .filter(
        (entry) =>
          entry.fields.event === 'gateway_audit' &&
          (action === undefined || entry.fields.action === action),
      )
      .map((entry) => entry.fields);
  }
}
