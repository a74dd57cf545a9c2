/** What every collector returns: `close()` removes its metrics from the register and unsubscribes. */
export interface Collector {
  close(): void;
}

/** A collector whose `close()` runs each of `stops` once, however often it is called. */
export function collectorHandle(...stops: (() => void)[]): Collector {
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      for (const stop of stops) stop();
    },
  };
}
