/**
 * `compute` once per scrape, shared by every family of a collector: prom-client's registry asks
 * each metric for its values in one synchronous loop, so whatever is computed in that turn of
 * the event loop serves them all, and the next scrape computes afresh. A registry of 100,000
 * breakers is walked once per scrape, not once per family.
 */
export function perScrape<T>(compute: () => T): () => T {
  let current: { value: T } | undefined;
  return () => {
    if (current === undefined) {
      current = { value: compute() };
      queueMicrotask(() => {
        current = undefined;
      });
    }
    return current.value;
  };
}
