export {
  type CircuitBreakerOptions,
  FailurePolicy,
  type Logger,
  presets,
} from '@breakwater/core';
export type { AuditEvent } from './audit.js';
export {
  type BreakerScanner,
  FallbackBehavior,
  type ScanFallback,
  type ScannerBreakerOptions,
  withCircuitBreaker,
} from './breaker-scanner.js';
export { ClamAvScanner, type ClamAvScannerOptions } from './clamav/clamav-scanner.js';
export { describeClamdAddress, parseClamdAddress } from './clamav/clamd-address.js';
export type { ClamdEndpoint } from './clamav/clamd-client.js';
export { type FindClamdOptions, findClamd, STANDARD_CLAMD } from './clamav/find-clamd.js';
export {
  ScanError,
  type ScanErrorKind,
  type ScanErrorOptions,
  type ScanFailure,
} from './errors.js';
export type { ExtraHash } from './hashing.js';
export {
  type ByteStream,
  FileInput,
  type InputKind,
  type ReadOptions,
  type StreamInputOptions,
} from './input.js';
export {
  type PolicyScan,
  type ScanCallOptions,
  ScanManager,
  ScanManagerBuilder,
} from './manager.js';
export type { ManagerConfig, ScanMode } from './manager-config.js';
export { MeteredRead, type MeterOptions, readMetadata } from './metadata.js';
export { MockScanner, type MockThreat } from './mock-scanner.js';
export { PolicyAction, type PolicyActionType } from './policy/action.js';
export { Condition, type ConditionType } from './policy/condition.js';
export {
  type PolicyDecision,
  PolicyEngine,
  type PolicyEngineOptions,
  type PolicyJSON,
} from './policy/engine.js';
export { PolicyError } from './policy/errors.js';
export { defaultPolicy, strictPolicy } from './policy/presets.js';
export { PolicyRule, type PolicyRuleJSON } from './policy/rule.js';
export {
  type CleanupResult,
  FilesystemQuarantine,
  type FilesystemQuarantineOptions,
  type QuarantineEntry,
  QuarantineError,
  type QuarantineErrorKind,
  type QuarantineFilter,
  type QuarantineRecord,
  type RetrievedFile,
  type StagedFile,
} from './quarantine.js';
export type { ScanReport } from './report.js';
export type {
  FileHash,
  FileMetadata,
  OutcomeType,
  ScanContext,
  ScanOutcome,
  ScanResult,
  Severity,
  ThreatInfo,
} from './result.js';
export type {
  EngineOutcome,
  EngineScanEvent,
  ScanDecisionEvent,
  ScanEventName,
  ScanEvents,
  ScanListener,
  ScanStats,
} from './scan-stats.js';
export { type ResultParts, type Scanner, type ScanOptions, scanResult } from './scanner.js';
export {
  VirusTotalScanner,
  type VirusTotalScannerOptions,
} from './virustotal/virustotal-scanner.js';
export type { YaraRules } from './yara/yara-rules.js';
export { YaraScanner, type YaraScannerOptions } from './yara/yara-scanner.js';
