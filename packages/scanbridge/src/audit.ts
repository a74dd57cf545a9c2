import type { Logger } from '@breakwater/core';
import type { PolicyDecision } from './policy/engine.js';
import type { ScanReport } from './report.js';
import type { ScanContext } from './result.js';

export type AuditEvent = 'scan_started' | 'scan_completed' | 'policy_decision' | 'quarantine';

/**
 * Structured audit events through a pino-compatible logger. Fields are chosen, never
 * spread: no file contents, no credentials, no free-form context metadata reach the log.
 */
export class Audit {
  private readonly logger: Logger | undefined;

  constructor(logger: Logger | undefined) {
    this.logger = logger;
  }

  scanStarted(
    scanId: string,
    filename: string | undefined,
    context: ScanContext,
    engines: readonly string[],
  ): void {
    this.logger?.info(
      { event: 'scan_started', scanId, ...fileName(filename), ...who(context), engines },
      'scan started',
    );
  }

  scanCompleted(report: ScanReport): void {
    this.logger?.info(
      {
        event: 'scan_completed',
        scanId: report.id,
        ...who(report.context),
        outcome: report.aggregatedOutcome.type,
        threats:
          report.aggregatedOutcome.type === 'infected'
            ? report.aggregatedOutcome.threats.map((t) => t.name)
            : [],
        sha256: report.fileHash.sha256,
        size: report.fileMetadata.size,
        engines: report.results.map((r) => r.engine),
        failures: report.failures.map((f) => ({ engine: f.engine, kind: f.error.kind })),
        durationMs: report.totalDurationMs,
      },
      'scan completed',
    );
  }

  scanFailed(
    scanId: string,
    context: ScanContext,
    kind: string,
    failures: readonly { engine: string; error: { kind: string } }[],
  ): void {
    this.logger?.warn(
      {
        event: 'scan_completed',
        scanId,
        ...who(context),
        outcome: 'failed',
        kind,
        failures: failures.map((f) => ({ engine: f.engine, kind: f.error.kind })),
      },
      'scan failed',
    );
  }

  policyDecision(report: ScanReport, decision: PolicyDecision): void {
    this.logger?.info(
      {
        event: 'policy_decision',
        scanId: report.id,
        ...who(report.context),
        action: decision.action.type,
        ...(decision.matchedRuleId === undefined ? {} : { ruleId: decision.matchedRuleId }),
        reason: decision.reason,
      },
      'policy decision',
    );
  }

  quarantined(report: ScanReport, quarantineId: string, reason: string): void {
    this.logger?.warn(
      {
        event: 'quarantine',
        scanId: report.id,
        ...who(report.context),
        quarantineId,
        sha256: report.fileHash.sha256,
        reason,
      },
      'file quarantined',
    );
  }
}

function who(context: ScanContext): Record<string, string> {
  const fields: Record<string, string> = {};
  if (context.tenantId !== undefined) fields.tenantId = context.tenantId;
  if (context.userId !== undefined) fields.userId = context.userId;
  if (context.requestId !== undefined) fields.requestId = context.requestId;
  if (context.source !== undefined) fields.source = context.source;
  return fields;
}

function fileName(filename: string | undefined): Record<string, string> {
  return filename === undefined ? {} : { filename };
}
