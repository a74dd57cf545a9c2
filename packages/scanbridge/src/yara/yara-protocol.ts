/** What the YARA-X worker thread and the YaraScanner say to each other. */

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
  /** The rule sources, in order, each added on its own as on the main thread. */
  readonly sources: readonly string[];
}

export type ToYaraWorker =
  | { readonly id: number; readonly bytes: Uint8Array; readonly path?: undefined }
  | { readonly id: number; readonly path: string; readonly bytes?: undefined };

export interface FromYaraWorker {
  readonly id: number;
  readonly matches?: YaraMatch[];
  readonly error?: string;
}
