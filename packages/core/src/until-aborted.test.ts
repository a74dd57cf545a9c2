import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { untilAborted } from './index.js';

function pending<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('untilAborted', () => {
  it('settles as the work does while the signal holds, and leaves no listener on it', async () => {
    const controller = new AbortController();
    const ok = pending<number>();
    const waiting = untilAborted(ok.promise, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    ok.resolve(7);
    await expect(waiting).resolves.toBe(7);
    const failed = pending<number>();
    const failing = untilAborted(failed.promise, controller.signal);
    failed.reject(new Error('engine down'));
    await expect(failing).rejects.toThrow('engine down');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it("rejects with the signal's reason as soon as it aborts, while the work goes on unheard", async () => {
    const controller = new AbortController();
    const work = pending<number>();
    const waiting = untilAborted(work.promise, controller.signal);
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    // A later rejection of the work is the work's own business: nothing unhandled.
    work.reject(new Error('late'));
    await expect(work.promise).rejects.toThrow('late');
  });

  it('rejects at once for a signal already aborted, and handles the work it will not wait for', async () => {
    const reason = new Error('gone already');
    const work = Promise.reject(new Error('never heard'));
    await expect(untilAborted(work, AbortSignal.abort(reason))).rejects.toBe(reason);
    // Let an unhandled rejection surface, if there were one: vitest fails the run on it.
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
});
