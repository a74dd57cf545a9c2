// clamscan 2.4.0 ships no types: what the bench uses of it.
declare module 'clamscan' {
  import type { Readable } from 'node:stream';

  export interface ScanStreamResult {
    isInfected: boolean | null;
    viruses: string[];
  }

  export default class NodeClam {
    init(options: Record<string, unknown>): Promise<NodeClam>;
    scanStream(stream: Readable): Promise<ScanStreamResult>;
  }
}
