import { describe, expect, it } from 'vitest';
import { countingStream, failingStream } from '../test/helpers.js';
import { ScanError } from './errors.js';
import { fanOut } from './fan-out.js';
import { FileInput } from './input.js';

async function total(input: FileInput): Promise<number> {
  let size = 0;
  for await (const chunk of input.chunks()) size += chunk.byteLength;
  return size;
}

describe('fanOut', () => {
  it('gives every reader the whole stream', async () => {
    const source = countingStream(100, 10);
    const fan = fanOut(FileInput.fromStream(source.stream), 3);
    expect(await Promise.all(fan.inputs.map(total))).toEqual([1000, 1000, 1000]);
    expect(source.pulled()).toBe(100);
  });

  it('lets the fastest reader get no more than the high-water mark ahead of the slowest', async () => {
    const source = countingStream(100, 10);
    const fan = fanOut(FileInput.fromStream(source.stream), 2, 4);
    const [fast, slow] = fan.inputs as [FileInput, FileInput];
    const slowReader = slow.chunks();
    await slowReader.next();
    // The fast reader drains what it can, then waits for the slow one.
    let fastRead = 0;
    const fastReading = (async () => {
      for await (const _ of fast.chunks()) fastRead++;
    })();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(source.pulled()).toBeLessThanOrEqual(6);
    expect(fastRead).toBeLessThanOrEqual(6);
    for await (const _ of { [Symbol.asyncIterator]: () => slowReader }) {
      // The slow reader catches up; both finish.
    }
    await fastReading;
    expect(fastRead).toBe(100);
  });

  it('goes on without a reader that gave up, and closes the source when all have', async () => {
    const source = countingStream(1000, 10);
    const fan = fanOut(FileInput.fromStream(source.stream), 2, 4);
    fan.release(1);
    expect(await total(fan.inputs[0] as FileInput)).toBe(10_000);

    const second = countingStream(1000, 10);
    const abandoned = fanOut(FileInput.fromStream(second.stream), 2, 4);
    abandoned.release(0);
    abandoned.release(1);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(second.pulled()).toBeLessThan(10);
  });

  it("hands the stream's failure to every reader", async () => {
    const fan = fanOut(
      FileInput.fromStream(failingStream(3, 'connection reset'), { filename: 'up.bin' }),
      2,
    );
    const results = await Promise.allSettled(fan.inputs.map(total));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({
        kind: 'io',
        message: expect.stringContaining('connection reset'),
      });
    }
  });

  it('ends every reader with the error it is aborted with', async () => {
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      await new Promise(() => {});
    }
    const fan = fanOut(FileInput.fromStream(stalls()), 2, 4);
    const reason = new ScanError('file_too_large', 'too large for the manager');
    const reading = Promise.allSettled(fan.inputs.map(total));
    await new Promise((resolve) => setImmediate(resolve));
    fan.abort(reason);
    for (const result of await reading) expect(result).toEqual({ status: 'rejected', reason });
  });
});
