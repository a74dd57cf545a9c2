const FILE_REQUESTS = new Set(['FSReqCallback', 'FSReqPromise']);
const POLL_MS = 10;

/**
 * Whether a file operation is still pending once `graceMs` passed: one stuck in the kernel (a
 * read on a hung mount) holds a thread of libuv's pool, and Node joins that pool on exit, so
 * process.exit() would wait for it forever. One that ends in time (a close just started) is
 * not stuck.
 */
export async function fileOperationStuck(graceMs: number): Promise<boolean> {
  for (let waited = 0; pending(); waited += POLL_MS) {
    if (waited >= graceMs) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}

function pending(): boolean {
  return process.getActiveResourcesInfo().some((resource) => FILE_REQUESTS.has(resource));
}
