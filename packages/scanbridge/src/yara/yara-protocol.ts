/** What the YARA-X scanning process and the YaraScanner say to each other, over IPC. */
import type { YaraVariables } from './yara-variables.js';

/** A matching rule: only what the verdict reads. */
export interface YaraMatch {
  readonly ruleIdentifier: string;
  readonly namespace: string;
  readonly meta: Record<string, unknown>;
  readonly tags: readonly string[];
}

/** What the process compiles, sent once, first. */
export interface YaraRulesMessage {
  readonly type: 'rules';
  /** The binding's resolved path, the one the host validated the rules with. */
  readonly binding: string;
  /** Every rule source, joined, as the host validated it. */
  readonly source: string;
}

export type YaraScanMessage = {
  readonly type: 'scan';
  readonly id: number;
  readonly variables: YaraVariables;
} & (
  | { readonly bytes: Uint8Array; readonly path?: undefined }
  | ({ readonly path: string; readonly bytes?: undefined } & Partial<YaraExpected>)
);

/**
 * What a file read again by the scanning process must be: the size and sha256 of the bytes the
 * host read and hashed, so the verdict is about exactly those.
 */
export interface YaraExpected {
  readonly size: number;
  readonly sha256: string;
}

export type ToYaraChild = YaraRulesMessage | YaraScanMessage;

export interface FromYaraChild {
  readonly id: number;
  readonly matches?: YaraMatch[];
  readonly error?: string;
  /** The error is the file's (it changed, or could not be read again), not YARA-X's. */
  readonly io?: boolean;
}
