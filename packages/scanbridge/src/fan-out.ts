import type { FileInput } from './input.js';

/** Wakes everyone waiting; waiters re-check their condition, so a spurious wake is harmless. */
class Wakeup {
  private waiting: Array<() => void> = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  notify(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}

interface Branch {
  readonly queue: Uint8Array[];
  active: boolean;
}

export interface FanOut {
  /** One input per reader, each yielding the whole stream. */
  readonly inputs: readonly FileInput[];
  /** A reader is done (it may not have read everything); the others go on without it. */
  release(index: number): void;
  /** Ends every branch with `error`, and stops reading the source. */
  abort(error: unknown): void;
}

/**
 * Splits a stream input into `count` inputs that read it together, as it arrives. The
 * slowest reader sets the pace: no branch gets more than `highWaterMark` chunks ahead, so
 * memory stays bounded whatever the stream's size. A reader that gives up is released,
 * and once every reader has, the source stream is closed.
 */
export function fanOut(input: FileInput, count: number, highWaterMark = 16): FanOut {
  const branches: Branch[] = Array.from({ length: count }, () => ({ queue: [], active: true }));
  const wakeup = new Wakeup();
  let ended = false;
  let failure: { error: unknown } | undefined;

  const anyActive = (): boolean => branches.some((b) => b.active);
  const anyFull = (): boolean => branches.some((b) => b.active && b.queue.length >= highWaterMark);

  const finish = (error?: { error: unknown }): void => {
    if (ended) return;
    ended = true;
    failure = error;
    wakeup.notify();
  };

  const pump = async (): Promise<void> => {
    try {
      const chunks = input.chunks();
      for await (const chunk of chunks) {
        while (anyFull() && !ended) await wakeup.wait();
        if (ended || !anyActive()) break;
        for (const branch of branches) if (branch.active) branch.queue.push(chunk);
        wakeup.notify();
      }
      finish();
    } catch (error) {
      finish({ error });
    }
  };

  const release = (index: number): void => {
    const branch = branches[index];
    if (branch === undefined || !branch.active) return;
    branch.active = false;
    branch.queue.length = 0;
    if (!anyActive()) finish();
    wakeup.notify();
  };

  async function* read(branch: Branch, index: number): AsyncGenerator<Uint8Array> {
    try {
      while (true) {
        const chunk = branch.queue.shift();
        if (chunk !== undefined) {
          wakeup.notify();
          yield chunk;
        } else if (ended) {
          if (failure !== undefined) throw failure.error;
          return;
        } else {
          await wakeup.wait();
        }
      }
    } finally {
      release(index);
    }
  }

  const abort = (error: unknown): void => {
    for (const branch of branches) branch.queue.length = 0;
    finish({ error });
  };

  const inputs = branches.map((branch, index) => input.withStream(read(branch, index)));
  void pump();
  return { inputs, release, abort };
}
