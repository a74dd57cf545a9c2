import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { BodyDeadline } from './deadline.js';
import type { UploadError } from './upload-error.js';

function setup(bodyTimeoutMs = 10_000, idleTimeoutMs = 2_000) {
  const clock = new ManualClock();
  const expired: UploadError[] = [];
  const deadline = new BodyDeadline(
    { bodyTimeoutMs, idleTimeoutMs },
    (error) => expired.push(error),
    clock,
  );
  return { clock, deadline, expired };
}

/** A promise and the function that resolves it: a chunk the client has yet to send. */
function pending<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('BodyDeadline', () => {
  it('passes through what the client sends in time', async () => {
    const { clock, deadline, expired } = setup();
    const chunk = pending<string>();
    const waited = deadline.wait(chunk.promise);
    clock.advance(1_999);
    chunk.resolve('bytes');
    await expect(waited).resolves.toBe('bytes');
    clock.advance(5_000);
    expect(expired).toEqual([]);
    deadline.dispose();
  });

  it('ends a wait on a client that sends nothing for idleTimeoutMs with 408 idle', async () => {
    const { clock, deadline, expired } = setup();
    const waited = deadline.wait(new Promise<never>(() => {}));
    clock.advance(2_000);
    await expect(waited).rejects.toMatchObject({
      statusCode: 408,
      code: 'BREAKWATER_UPLOAD_IDLE',
      message: expect.stringContaining('2000 ms (limits.idleTimeoutMs)'),
    });
    expect(expired.map((e) => e.code)).toEqual(['BREAKWATER_UPLOAD_IDLE']);
    // Every later wait fails the same way at once.
    await expect(deadline.wait(Promise.resolve('late'))).rejects.toBe(expired[0]);
  });

  it('counts idle time only while waiting: a client held back by a scan is not idle', async () => {
    const { clock, deadline, expired } = setup(60_000, 2_000);
    await deadline.wait(Promise.resolve('first file'));
    clock.advance(30_000); // scanning the first file: nobody waits for the client
    const next = pending<string>();
    const waited = deadline.wait(next.promise);
    clock.advance(1_000);
    next.resolve('second file');
    await expect(waited).resolves.toBe('second file');
    expect(expired).toEqual([]);
    deadline.dispose();
  });

  it('ends a client at 1 byte a second with the whole-body timeout: it is never idle', async () => {
    const { clock, deadline, expired } = setup(10_000, 2_000);
    let received = 0;
    let failure: unknown;
    for (let second = 0; second < 20 && failure === undefined; second++) {
      const byte = pending<number>();
      const waited = deadline.wait(byte.promise);
      clock.advance(1_000);
      byte.resolve(1);
      try {
        received += await waited;
      } catch (error) {
        failure = error;
      }
    }
    expect(failure).toMatchObject({ statusCode: 408, code: 'BREAKWATER_UPLOAD_TIMEOUT' });
    expect(received).toBe(9);
    expect(expired.map((e) => e.code)).toEqual(['BREAKWATER_UPLOAD_TIMEOUT']);
  });

  it('counts only time spent waiting for the client: a scan between files does not run it out', async () => {
    const { clock, deadline, expired } = setup(10_000, 2_000);
    await deadline.wait(Promise.resolve('first file'));
    clock.advance(60_000); // scanning the first file: nobody waits for the client
    expect(expired).toEqual([]);
    let failure: unknown;
    for (let wait = 0; wait < 12 && failure === undefined; wait++) {
      const chunk = pending<string>();
      const waited = deadline.wait(chunk.promise);
      clock.advance(1_500); // 1.5 s waited each time: the 7th wait passes 10 s
      chunk.resolve('chunk');
      failure = await waited.then(
        () => undefined,
        (error: unknown) => error,
      );
      clock.advance(5_000); // and the scan of it, again not counted
    }
    expect(failure).toMatchObject({ code: 'BREAKWATER_UPLOAD_TIMEOUT' });
    expect(expired.map((e) => e.code)).toEqual(['BREAKWATER_UPLOAD_TIMEOUT']);
    await expect(deadline.wait(Promise.resolve('too late'))).rejects.toBe(expired[0]);
  });

  it('restarts the idle clock on every chunk that arrives while it waits', async () => {
    const { clock, deadline, expired } = setup(60_000, 2_000);
    const field = pending<string>();
    const waited = deadline.wait(field.promise);
    for (let chunk = 0; chunk < 10; chunk++) {
      clock.advance(1_500);
      deadline.received();
    }
    expect(expired).toEqual([]);
    clock.advance(2_000);
    await expect(waited).rejects.toMatchObject({ code: 'BREAKWATER_UPLOAD_IDLE' });
  });

  it('stops the whole-body clock once the body is in', async () => {
    const { clock, deadline, expired } = setup(10_000, 2_000);
    deadline.finished();
    clock.advance(60_000);
    await expect(deadline.wait(Promise.resolve('end'))).resolves.toBe('end');
    expect(expired).toEqual([]);
    deadline.dispose();
  });

  it('hands on the client stream failing as it is', async () => {
    const { deadline, expired } = setup();
    const broken = new Error('aborted');
    await expect(deadline.wait(Promise.reject(broken))).rejects.toBe(broken);
    expect(expired).toEqual([]);
    deadline.dispose();
  });

  it('leaves no timer behind once disposed', async () => {
    const { clock, deadline, expired } = setup(10_000, 2_000);
    void deadline.wait(new Promise<never>(() => {})).catch(() => {});
    deadline.dispose();
    clock.advance(60_000);
    expect(expired).toEqual([]);
  });
});
