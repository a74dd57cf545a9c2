/** What the YARA-X worker thread and the YaraScanner say to each other. */
import type { YaraVariables } from './yara-variables.js';

/** A matching rule: only what the verdict reads. */
export interface YaraMatch {
  readonly ruleIdentifier: string;
  readonly namespace: string;
  readonly meta: Record<string, unknown>;
  readonly tags: readonly string[];
}

export interface YaraWorkerData {
  /** The binding's resolved path, the one the main thread validated the rules with. */
  readonly binding: string;
  /** Every rule source, joined, as the main thread validated it. */
  readonly source: string;
}

export type ToYaraWorker = {
  readonly id: number;
  readonly variables: YaraVariables;
} & (
  | { readonly bytes: Uint8Array; readonly path?: undefined }
  | { readonly path: string; readonly bytes?: undefined }
);

export interface FromYaraWorker {
  readonly id: number;
  readonly matches?: YaraMatch[];
  readonly error?: string;
}
