import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clamd, startClamd } from '../../scanbridge/test/clamd-process.js';
import { filesOf, jsonOf, type ReadyJson } from './support/answers.js';
import { startTestGateway, type TestGateway } from './support/gateway-harness.js';
import { CLEAN_TEXT, EICAR, TEST_RULES } from './support/samples.js';

let clamd: Clamd | undefined;
let t: TestGateway | undefined;

beforeAll(async () => {
  clamd = await startClamd();
  t = await startTestGateway({
    engines: [
      { type: 'yara', name: 'yara', rules: TEST_RULES },
      // One failure opens it, so the test need not wait out a threshold.
      {
        type: 'clamav',
        name: 'clamav',
        address: `127.0.0.1:${clamd.port}`,
        breaker: { failureThreshold: 1 },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await clamd?.stop();
});

function gateway(): TestGateway {
  if (t === undefined) throw new Error('the gateway did not start');
  return t;
}

function upload(body: string, filename: string): Promise<Response> {
  return gateway().fetch('/v1/tenants/acme/scans', 'alice', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream', 'x-filename': filename },
  });
}

describe('with a real clamd beside YARA', () => {
  it('blocks EICAR, found by both engines', async () => {
    const [file] = await filesOf(await upload(EICAR, 'eicar.com'));
    expect(file?.decision).toBe('block');
    expect(file?.threats).toEqual(
      expect.arrayContaining([
        { name: 'Eicar_Test_File', engine: 'yara', severity: 'critical' },
        expect.objectContaining({ name: 'Eicar-Test-Signature.UNOFFICIAL', engine: 'clamav' }),
      ]),
    );
    expect(file?.engines).toEqual(
      expect.arrayContaining([
        { name: 'yara', outcome: 'infected' },
        { name: 'clamav', outcome: 'infected' },
      ]),
    );
  });

  it('allows a clean file both engines passed', async () => {
    const [file] = await filesOf(await upload(CLEAN_TEXT, 'clean.txt'));
    expect(file).toMatchObject({ decision: 'allow', outcome: 'clean' });
    expect(file?.engines).toHaveLength(2);
  });

  it('with clamd killed: its breaker opens, YARA still scans, and the default policy decides', async () => {
    await clamd?.kill();
    // The first scan finds clamd gone; its failure opens the breaker (threshold 1).
    const [first] = await filesOf(await upload(EICAR, 'eicar-again.com'));
    expect(first?.decision).toBe('block');
    expect(first?.engines).toContainEqual({
      name: 'clamav',
      outcome: 'failed',
      error: 'connection_failed',
    });
    expect(gateway().gateway.registry.find('clamav')?.state().name).toBe('open');
    // Malware YARA finds is still blocked; a file only YARA passed is not called clean: review.
    const [clean] = await filesOf(await upload(CLEAN_TEXT, 'clean-again.txt'));
    expect(clean?.engines).toEqual(
      expect.arrayContaining([
        { name: 'yara', outcome: 'clean' },
        { name: 'clamav', outcome: 'failed', error: 'circuit_open' },
      ]),
    );
    expect(clean?.decision).toBe('require_review');
    const ready = await gateway().fetch('/readyz', undefined);
    expect(ready.status).toBe(200);
    expect((await jsonOf<ReadyJson>(ready)).status).toBe('degraded');
  }, 30_000);
});
