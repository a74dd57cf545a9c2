/**
 * Case 12's load shape, the same for every contender: the in-process ones in the bench's
 * process, the HTTP client in its own (gateway-client.ts).
 */

/** One contender over one slice of the files: wall time, each file's latency, what it refused. */
export interface Slice {
  seconds: number;
  /** Milliseconds, one per file, in the order the files finished. */
  latencies: number[];
  /** Every decision other than allow (random bytes are clean, so each is a wrong answer). */
  refused: string[];
}

/** Scans file `index`; resolves to the policy's decision. */
export type ScanOne = (index: number) => Promise<string>;

/** Every file of `indexes`, `inFlight` at once, each timed from its start to its decision. */
export async function timeSlice(
  indexes: readonly number[],
  inFlight: number,
  scan: ScanOne,
): Promise<Slice> {
  let next = 0;
  const latencies: number[] = [];
  const refused: string[] = [];
  const worker = async (): Promise<void> => {
    while (next < indexes.length) {
      const index = indexes[next++] as number;
      const began = performance.now();
      const decision = await scan(index);
      latencies.push(performance.now() - began);
      if (decision !== 'allow') refused.push(decision);
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { seconds: (performance.now() - began) / 1000, latencies, refused };
}
