/**
 * The scans still running, so `close()` resolves only once each has settled: its spooled file
 * removed and its audit line written, even when its connection was cut at the end of the grace.
 */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work);
    const done = () => this.#running.delete(work);
    work.then(done, done);
    return work;
  }

  /** How many are still running. */
  get size(): number {
    return this.#running.size;
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }
}
