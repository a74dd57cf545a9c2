import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { ScanError } from '../src/errors.js';
import type { ScanOutcome, ScanResult } from '../src/result.js';

/** The EICAR test string: every engine's harmless "virus". */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const EICAR_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A fresh temporary directory, removed after the test. */
export function tempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scanbridge-test-'));
    made.push(dir);
    return dir;
  };
}

/** Entries in `dir`, or none when it does not exist. */
export async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** A stream of `count` chunks of `size` bytes that counts how many were pulled. */
export function countingStream(
  count: number,
  size: number,
  fill = 0x61,
): {
  stream: AsyncGenerator<Uint8Array>;
  pulled(): number;
} {
  let pulled = 0;
  async function* generate(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < count; i++) {
      pulled++;
      yield new Uint8Array(size).fill(fill);
    }
  }
  return { stream: generate(), pulled: () => pulled };
}

/** A stream that yields `good` chunks and then fails. */
export async function* failingStream(
  good: number,
  message = 'socket hang up',
): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < good; i++) yield bytes(`chunk ${i};`);
  throw new Error(message);
}

/** The ScanError `work` rejects with; fails the test if it resolves or throws anything else. */
export async function failure(work: Promise<unknown>): Promise<ScanError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScanError);
  return error as ScanError;
}

/** A result as an engine of a test's own making reports it: what it says it saw, and nothing else. */
export function fakeResult(
  engine: string,
  seen: { readonly size: number; readonly sha256: string },
  outcome: ScanOutcome = { type: 'clean' },
): ScanResult {
  return {
    id: engine,
    outcome,
    fileMetadata: { size: seen.size, hash: { sha256: seen.sha256 } },
    engine,
    startedAt: 0,
    completedAt: 0,
    durationMs: 0,
    context: {},
    cached: false,
    details: {},
  };
}
