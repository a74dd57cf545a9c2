import { extname } from 'node:path';
import { describeValue } from '@breakwater/core/validate';
import type { ScanReport } from '../report.js';
import {
  type OutcomeType,
  type ScanContext,
  SEVERITIES,
  type Severity,
  type ThreatInfo,
} from '../result.js';
import { PolicyError } from './errors.js';

/** A test on a scan report; plain data, so policies round-trip through JSON. */
export type Condition =
  | { readonly type: 'outcome_is'; readonly outcome: OutcomeType }
  | { readonly type: 'tenant_equals'; readonly tenantId: string }
  | { readonly type: 'tenant_in'; readonly tenantIds: readonly string[] }
  | { readonly type: 'file_type_in'; readonly types: readonly string[] }
  | { readonly type: 'severity_at_least'; readonly severity: Severity }
  | { readonly type: 'file_size_exceeds'; readonly bytes: number }
  | { readonly type: 'file_size_below'; readonly bytes: number }
  | { readonly type: 'threat_name_contains'; readonly text: string }
  | { readonly type: 'source_equals'; readonly source: string }
  | { readonly type: 'engine_equals'; readonly engine: string }
  | { readonly type: 'always' }
  | { readonly type: 'never' }
  | { readonly type: 'and'; readonly conditions: readonly Condition[] }
  | { readonly type: 'or'; readonly conditions: readonly Condition[] }
  | { readonly type: 'not'; readonly condition: Condition };

export type ConditionType = Condition['type'];

const OUTCOMES: readonly OutcomeType[] = ['clean', 'infected', 'suspicious', 'error'];

type Field = (value: unknown, path: string) => unknown;

const MAX_DEPTH = 32;

const nonEmptyString: Field = (value, path) => {
  if (typeof value !== 'string' || value.length === 0) {
    throw new PolicyError(path, `expected a non-empty string, got ${describeValue(value)}`);
  }
  return value;
};

const oneOf =
  (allowed: readonly string[]): Field =>
  (value, path) => {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      throw new PolicyError(
        path,
        `expected one of ${allowed.join(', ')}, got ${describeValue(value)}`,
      );
    }
    return value;
  };

const byteCount: Field = (value, path) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new PolicyError(
      path,
      `expected a whole number of bytes >= 0, got ${describeValue(value)}`,
    );
  }
  return value;
};

const stringList: Field = (value, path) => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new PolicyError(
      path,
      `expected a non-empty array of strings, got ${describeValue(value)}`,
    );
  }
  return Object.freeze(value.map((item, i) => nonEmptyString(item, `${path}[${i}]`)));
};

const conditionList: Field = (value, path) => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new PolicyError(
      path,
      `expected a non-empty array of conditions, got ${describeValue(value)}`,
    );
  }
  return Object.freeze(value.map((item, i) => parseCondition(item, `${path}[${i}]`)));
};

const condition: Field = (value, path) => parseCondition(value, path);

/** Each condition type and its fields: the one description both code and JSON are checked against. */
const SHAPES: Readonly<Record<ConditionType, Readonly<Record<string, Field>>>> = {
  outcome_is: { outcome: oneOf(OUTCOMES) },
  tenant_equals: { tenantId: nonEmptyString },
  tenant_in: { tenantIds: stringList },
  file_type_in: { types: stringList },
  severity_at_least: { severity: oneOf(SEVERITIES) },
  file_size_exceeds: { bytes: byteCount },
  file_size_below: { bytes: byteCount },
  threat_name_contains: { text: nonEmptyString },
  source_equals: { source: nonEmptyString },
  engine_equals: { engine: nonEmptyString },
  always: {},
  never: {},
  and: { conditions: conditionList },
  or: { conditions: conditionList },
  not: { condition },
};

/** Checks a condition from code or JSON; `path` names it in the error. */
export function parseCondition(value: unknown, path: string): Condition {
  // Each nesting level adds a step to the path; past this depth a policy is a mistake or an attack.
  if (path.split('.condition').length > MAX_DEPTH) {
    throw new PolicyError(path, `conditions nest deeper than ${MAX_DEPTH} levels`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PolicyError(
      path,
      `a condition must be an object like { "type": "outcome_is", "outcome": "infected" }, got ${describeValue(value)}`,
    );
  }
  const { type, ...fields } = value as Record<string, unknown>;
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) {
    throw new PolicyError(
      `${path}.type`,
      `unknown condition ${describeValue(type)}; use one of ${Object.keys(SHAPES).join(', ')}`,
    );
  }
  const shape = SHAPES[type as ConditionType];
  const parsed: Record<string, unknown> = { type };
  for (const key of Object.keys(fields)) {
    if (!Object.hasOwn(shape, key)) {
      const expected = Object.keys(shape);
      throw new PolicyError(
        `${path}.${key}`,
        `condition "${type}" has no field "${key}"${expected.length > 0 ? `; it takes ${expected.join(', ')}` : ''}`,
      );
    }
  }
  for (const [key, check] of Object.entries(shape))
    parsed[key] = check(fields[key], `${path}.${key}`);
  // Frozen: a rule's conditions were checked once and must stay as checked.
  return Object.freeze(parsed) as Condition;
}

const make = (value: Record<string, unknown>, factory: string): Condition =>
  parseCondition(value, `Condition.${factory}`);

/** Condition makers: `Condition.outcomeIs('infected')`, `Condition.and(a, b)` ... */
export const Condition = {
  outcomeIs: (outcome: OutcomeType) => make({ type: 'outcome_is', outcome }, 'outcomeIs'),
  tenantEquals: (tenantId: string) => make({ type: 'tenant_equals', tenantId }, 'tenantEquals'),
  tenantIn: (tenantIds: readonly string[]) => make({ type: 'tenant_in', tenantIds }, 'tenantIn'),
  /** Extensions (`'exe'`, `'.pdf'`) and MIME types (`'application/zip'`, `'image/*'`). */
  fileTypeIn: (types: readonly string[]) => make({ type: 'file_type_in', types }, 'fileTypeIn'),
  severityAtLeast: (severity: Severity) =>
    make({ type: 'severity_at_least', severity }, 'severityAtLeast'),
  fileSizeExceeds: (bytes: number) => make({ type: 'file_size_exceeds', bytes }, 'fileSizeExceeds'),
  fileSizeBelow: (bytes: number) => make({ type: 'file_size_below', bytes }, 'fileSizeBelow'),
  /** Case-insensitive, on the names of the threats found. */
  threatNameContains: (text: string) =>
    make({ type: 'threat_name_contains', text }, 'threatNameContains'),
  /** A result's source (`'failopen'` for a breaker's stand-in verdict) or the context's source. */
  sourceEquals: (source: string) => make({ type: 'source_equals', source }, 'sourceEquals'),
  engineEquals: (engine: string) => make({ type: 'engine_equals', engine }, 'engineEquals'),
  always: () => make({ type: 'always' }, 'always'),
  never: () => make({ type: 'never' }, 'never'),
  and: (...conditions: Condition[]) => make({ type: 'and', conditions }, 'and'),
  or: (...conditions: Condition[]) => make({ type: 'or', conditions }, 'or'),
  not: (inner: Condition) => make({ type: 'not', condition: inner }, 'not'),
} as const;

/** Whether `condition` holds for this report; `context` is the caller's, else the report's. */
export function conditionHolds(
  condition: Condition,
  report: ScanReport,
  context: ScanContext,
): boolean {
  const outcome = report.aggregatedOutcome;
  const threats = threatsIn(report);
  const tenantId = context.tenantId ?? report.context.tenantId;
  switch (condition.type) {
    case 'outcome_is':
      return outcome.type === condition.outcome;
    case 'tenant_equals':
      return tenantId === condition.tenantId;
    case 'tenant_in':
      return tenantId !== undefined && condition.tenantIds.includes(tenantId);
    case 'file_type_in':
      return condition.types.some((type) => fileTypeMatches(type, report));
    case 'severity_at_least': {
      const floor = SEVERITIES.indexOf(condition.severity);
      return threats.some((threat) => SEVERITIES.indexOf(threat.severity) >= floor);
    }
    case 'file_size_exceeds':
      return report.fileMetadata.size > condition.bytes;
    case 'file_size_below':
      return report.fileMetadata.size < condition.bytes;
    case 'threat_name_contains': {
      const text = condition.text.toLowerCase();
      return threats.some((threat) => threat.name.toLowerCase().includes(text));
    }
    case 'source_equals':
      return (
        report.results.some((result) => result.source === condition.source) ||
        (context.source ?? report.context.source) === condition.source
      );
    case 'engine_equals':
      return report.results.some((result) => result.engine === condition.engine);
    case 'always':
      return true;
    case 'never':
      return false;
    case 'and':
      return condition.conditions.every((c) => conditionHolds(c, report, context));
    case 'or':
      return condition.conditions.some((c) => conditionHolds(c, report, context));
    case 'not':
      return !conditionHolds(condition.condition, report, context);
  }
}

/**
 * Every threat any engine found, the aggregate's and each result's: a rule on threats sees
 * what was found whatever the aggregate says.
 */
function threatsIn(report: ScanReport): readonly ThreatInfo[] {
  const outcomes = [report.aggregatedOutcome, ...report.results.map((result) => result.outcome)];
  return outcomes.flatMap((outcome) => (outcome.type === 'infected' ? outcome.threats : []));
}

/** `'exe'`/`'.exe'` match the file name's extension; `'type/sub'` and `'type/*'` the sniffed MIME type. */
function fileTypeMatches(type: string, report: ScanReport): boolean {
  const wanted = type.toLowerCase();
  if (wanted.includes('/')) {
    const mimeType = report.fileMetadata.mimeType?.toLowerCase();
    if (mimeType === undefined) return false;
    return wanted.endsWith('/*') ? mimeType.startsWith(wanted.slice(0, -1)) : mimeType === wanted;
  }
  const filename = report.fileMetadata.filename;
  if (filename === undefined) return false;
  const extension = extname(filename).toLowerCase();
  return extension !== '' && extension === (wanted.startsWith('.') ? wanted : `.${wanted}`);
}
