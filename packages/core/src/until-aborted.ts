/**
 * `work`, or a rejection with `signal`'s reason as soon as it aborts, whichever comes first:
 * for a caller who stops waiting on work it does not own (a call shared with others, a step that
 * cleans up in its own time). The work itself goes on; a rejection it ends with later is handled.
 * The listener goes when `work` settles, so a long-lived signal collects none.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
