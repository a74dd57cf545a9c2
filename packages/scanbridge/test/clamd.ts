import { afterAll, beforeAll } from 'vitest';
import { type Clamd, type ClamdOptions, startClamd } from './clamd-process.js';

export {
  type Clamd,
  type ClamdOptions,
  freePort,
  startClamd,
} from './clamd-process.js';

/** A clamd started before the file's tests and stopped after them; call it inside a test. */
export function useClamd(options: ClamdOptions = {}): () => Clamd {
  let clamd: Clamd | undefined;
  beforeAll(async () => {
    clamd = await startClamd(options);
  }, 60_000);
  afterAll(async () => {
    await clamd?.stop();
  });
  return () => {
    if (clamd === undefined) throw new Error('useClamd: clamd is read before it started');
    return clamd;
  };
}
