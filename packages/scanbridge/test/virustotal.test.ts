import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { ManualClock } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import {
  FileInput,
  ScanManager,
  VirusTotalScanner,
  type VirusTotalScannerOptions,
  withCircuitBreaker,
} from '../src/index.js';
import { freePort } from './clamd.js';
import { bytes, EICAR, EICAR_SHA256, failure } from './helpers.js';
import { FakeVirusTotal, fakeVerdict, useFakeVirusTotal } from './virustotal-fake.js';

const KEY = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2';
const NOTE = 'a note nobody has uploaded before';

const fake = useFakeVirusTotal(KEY);

const scanner = (options: Partial<VirusTotalScannerOptions> = {}) =>
  new VirusTotalScanner({ apiKey: KEY, baseUrl: fake().baseUrl, pollIntervalMs: 10, ...options });
const eicar = () => FileInput.fromBytes(bytes(EICAR), 'eicar.com');
const note = () => FileInput.fromBytes(bytes(NOTE), 'note.txt');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('VirusTotalScanner against a loopback fake of API v3', () => {
  it('looks a known file up by its sha256 and turns detections into threats', async () => {
    fake().files.set(EICAR_SHA256, fakeVerdict(Buffer.from(EICAR)));
    const result = await scanner().scan(eicar());
    expect(result.outcome).toEqual({
      type: 'infected',
      threats: [
        {
          name: 'EICAR-Test-File',
          severity: 'high',
          engine: 'virustotal',
          description: 'reported by Alpha, Beta',
        },
        {
          name: 'Heur.Test',
          severity: 'medium',
          engine: 'virustotal',
          description: 'reported by Gamma',
        },
      ],
    });
    expect(result.fileMetadata).toMatchObject({ size: 68, hash: { sha256: EICAR_SHA256 } });
    expect(result.details).toMatchObject({
      source: 'lookup',
      stats: { malicious: 2, suspicious: 1 },
      lastAnalysisDate: 1_700_000_000_000,
    });
    expect(fake().requests).toEqual([
      { method: 'GET', path: `/api/v3/files/${EICAR_SHA256}`, apiKey: KEY },
    ]);
  });

  it('reports a known harmless file clean', async () => {
    fake().files.set(sha256(NOTE), fakeVerdict(Buffer.from(NOTE)));
    expect((await scanner().scan(note())).outcome).toEqual({ type: 'clean' });
  });

  it('never calls an unknown file clean: without uploadUnknown it is a recoverable error', async () => {
    const result = await scanner().scan(note());
    expect(result.outcome).toEqual({ type: 'error', recoverable: true });
    expect(result.details).toEqual({ source: 'lookup', known: false });
    expect(fake().paths()).toEqual([`GET /api/v3/files/${sha256(NOTE)}`]);
  });

  it('uploads an unknown file and polls its analysis until it completes', async () => {
    fake().pendingPolls = 2;
    const stream = FileInput.fromStream(
      (async function* () {
        yield bytes(EICAR.slice(0, 20));
        yield bytes(EICAR.slice(20));
      })(),
      { filename: 'eicar.com' },
    );
    const result = await scanner({ uploadUnknown: true }).scan(stream);
    expect(result.outcome.type).toBe('infected');
    expect(result.details).toMatchObject({ source: 'upload', stats: { malicious: 2 } });
    expect(fake().paths()).toEqual([
      `GET /api/v3/files/${EICAR_SHA256}`,
      'POST /api/v3/files',
      ...Array(3).fill(`GET /api/v3/analyses/${result.details.analysisId}`),
    ]);
    // The uploaded bytes are the scanned ones, and VirusTotal knows the file from now on.
    expect(fake().requests[1]?.uploadedSha256).toBe(EICAR_SHA256);
    expect(fake().files.has(EICAR_SHA256)).toBe(true);
  });

  it('uploads files over 32 MB through an upload URL on the API origin', async () => {
    const big = new Uint8Array(33 * 1024 * 1024).fill(0x61);
    const result = await scanner({ uploadUnknown: true, maxUploadSize: 40 * 1024 * 1024 }).scan(
      FileInput.fromBytes(big, 'big.bin'),
    );
    expect(result.outcome).toEqual({ type: 'clean' });
    const digest = createHash('sha256').update(big).digest('hex');
    expect(fake().paths().slice(0, 3)).toEqual([
      `GET /api/v3/files/${digest}`,
      'GET /api/v3/files/upload_url',
      'POST /upload/1',
    ]);
    expect(fake().requests[2]).toMatchObject({ apiKey: KEY, uploadedSha256: digest });
  });

  it('refuses an upload URL on another origin, which would receive the key', async () => {
    const elsewhere = await FakeVirusTotal.start(KEY);
    try {
      fake().script(/upload_url$/, { body: { data: `${elsewhere.origin}/upload/1` } });
      const error = await failure(
        scanner({ uploadUnknown: true, maxUploadSize: 40 * 1024 * 1024 }).scan(
          FileInput.fromBytes(new Uint8Array(33 * 1024 * 1024), 'big.bin'),
        ),
      );
      expect(error.kind).toBe('ambiguous_response');
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('does not follow redirects: the key would go with them', async () => {
    const elsewhere = await FakeVirusTotal.start(KEY);
    try {
      fake().script(/files/, {
        status: 302,
        headers: { location: `${elsewhere.baseUrl}/files/x` },
      });
      expect((await failure(scanner().scan(eicar()))).kind).toBe('ambiguous_response');
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('maps a 429 to rate_limited with Retry-After, and waits it out while polling', async () => {
    fake().script(/files/, { status: 429, headers: { 'retry-after': '7' } }, { status: 429 });
    const first = await failure(scanner().scan(eicar()));
    expect(first).toMatchObject({ kind: 'rate_limited', retryAfter: 7_000, recoverable: true });
    // Without Retry-After, VirusTotal's per-minute quota says a minute.
    expect((await failure(scanner().scan(eicar()))).retryAfter).toBe(60_000);

    fake().script(
      /analyses/,
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '0' } },
    );
    const clock = new ManualClock();
    const polls = () =>
      fake()
        .paths()
        .filter((p) => p.includes('analyses')).length;
    const scan = scanner({ uploadUnknown: true, clock }).scan(note());
    // Each wait is a timer on the scanner's clock: move time only while one is pending.
    const waitedOut = async (ms: number): Promise<void> => {
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(1));
      clock.advance(ms);
    };
    await waitedOut(10); // the poll interval, then the first 429 (Retry-After: 1)
    await vi.waitFor(() => expect(polls()).toBe(1));
    await waitedOut(999);
    // The 1 s Retry-After is waited out, not the 10 ms poll interval.
    expect(polls()).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(polls()).toBe(2));
    // Retry-After: 0 falls back to the poll interval, then the analysis completes.
    await waitedOut(10);
    await waitedOut(10);
    const result = await scan;
    expect(result.outcome).toEqual({ type: 'clean' });
    expect(polls()).toBe(4);
  });

  it('gives up polling when a Retry-After does not fit in maxPollTimeMs', async () => {
    fake().script(/analyses/, { status: 429, headers: { 'retry-after': '30' } });
    const error = await failure(
      scanner({ uploadUnknown: true, maxPollTimeMs: 1_000 }).scan(note()),
    );
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfter: 30_000 });
  });

  it('times out polling after maxPollTimeMs', async () => {
    fake().pendingPolls = 1_000;
    const started = Date.now();
    const error = await failure(
      scanner({ uploadUnknown: true, pollIntervalMs: 20, maxPollTimeMs: 150 }).scan(note()),
    );
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/did not complete within 150 ms/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('maps 401 and 403 to authentication_failed, without repeating the key', async () => {
    const wrongKey = `${KEY.slice(0, -1)}0`;
    const error = await failure(scanner({ apiKey: wrongKey }).scan(eicar()));
    expect(error.kind).toBe('authentication_failed');
    expect(error.recoverable).toBe(false);
    // The fake echoes the key it was sent; the client scrubs it.
    expect(error.message).toContain('WrongCredentialsError');
    expect(error.message).toContain('[api key]');
    expect(inspect(error, { depth: 10 })).not.toContain(wrongKey);
    fake().script(/files/, { status: 403, body: { error: { code: 'ForbiddenError' } } });
    expect((await failure(scanner().scan(eicar()))).kind).toBe('authentication_failed');
  });

  it('maps 5xx to engine_unavailable, and a breaker opens on them', async () => {
    fake().script(
      /files/,
      { status: 503, body: { error: { code: 'TransientError' } } },
      { status: 500 },
      { status: 502, body: '<html>bad gateway</html>' },
    );
    const guarded = withCircuitBreaker(scanner(), { failureThreshold: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await failure(guarded.scan(eicar()))).kind).toBe('engine_unavailable');
    }
    expect(guarded.breaker.state().name).toBe('open');
    expect((await failure(guarded.scan(eicar()))).kind).toBe('circuit_open');
    expect(fake().requests).toHaveLength(3);
  });

  it('does not let a burst of 429s open the breaker', async () => {
    fake().script(/files/, ...Array(6).fill({ status: 429, headers: { 'retry-after': '1' } }));
    const guarded = withCircuitBreaker(scanner(), { failureThreshold: 3 });
    for (let i = 0; i < 6; i++) {
      expect((await failure(guarded.scan(eicar()))).kind).toBe('rate_limited');
    }
    expect(guarded.breaker.state().name).toBe('closed');
  });

  it('times out a response that is too slow, in its headers or its body', async () => {
    fake().script(/files/, { delayMs: 5_000 }, { stallBodyMs: 5_000, body: { data: {} } });
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const error = await failure(scanner({ timeoutMs: 200 }).scan(eicar()));
      expect(error.kind).toBe('timeout');
      expect(error.message).toMatch(/took longer than 200 ms/);
      expect(Date.now() - started).toBeLessThan(4_000);
    }
  });

  it('calls malformed or empty answers ambiguous, never clean', async () => {
    fake().script(
      /files/,
      { body: '{"data": {"attributes": ' },
      { body: { data: { id: EICAR_SHA256, attributes: {} } } },
      { body: { data: { id: sha256('other'), attributes: { last_analysis_stats: {} } } } },
      {
        body: {
          data: {
            id: EICAR_SHA256,
            attributes: {
              last_analysis_stats: {
                malicious: 0,
                suspicious: 0,
                undetected: 0,
                harmless: 0,
                timeout: 5,
              },
            },
          },
        },
      },
    );
    const problems: string[] = [];
    for (let i = 0; i < 4; i++) {
      const error = await failure(scanner().scan(eicar()));
      expect(error.kind).toBe('ambiguous_response');
      problems.push(error.message);
    }
    expect(problems).toEqual([
      expect.stringMatching(/answered 200 with a body that is not JSON/),
      expect.stringMatching(/no usable stats/),
      expect.stringMatching(/describes another file/),
      expect.stringMatching(/no VirusTotal engine could analyse the file/),
    ]);
  });

  it('calls a file report without data.id ambiguous: it cannot be tied to these bytes', async () => {
    const { stats, results } = fakeVerdict(Buffer.from(NOTE));
    fake().script(
      /files/,
      {
        body: {
          data: { attributes: { last_analysis_stats: stats, last_analysis_results: results } },
        },
      },
      { body: { data: { id: '', attributes: { last_analysis_stats: stats } } } },
    );
    for (let i = 0; i < 2; i++) {
      const error = await failure(scanner().scan(note()));
      expect(error.kind).toBe('ambiguous_response');
      expect(error.message).toMatch(/the file report does not say which file it describes/);
    }
  });

  it('calls a finished analysis without meta.file_info.sha256 ambiguous, never clean', async () => {
    const { stats, results } = fakeVerdict(Buffer.from(NOTE));
    const completed = { status: 'completed', stats, results };
    fake().script(
      /analyses/,
      { body: { data: { id: 'a1', attributes: completed } } },
      { body: { data: { id: 'a2', attributes: completed }, meta: { file_info: { size: 3 } } } },
    );
    for (let i = 0; i < 2; i++) {
      const error = await failure(scanner({ uploadUnknown: true }).scan(note()));
      expect(error.kind).toBe('ambiguous_response');
      expect(error.message).toMatch(/the analysis does not say which file it describes/);
    }
  });

  it('counts the worse of last_analysis_stats and last_analysis_results when they disagree', async () => {
    const counts = (malicious: number, suspicious: number, undetected = 3) => ({
      malicious,
      suspicious,
      undetected,
      harmless: 0,
    });
    const listed = (category: string, result: string) => ({
      Alpha: { category, engine_name: 'Alpha', result },
      Beta: { category: 'undetected', engine_name: 'Beta', result: null },
    });
    const report = (stats: object, results: object) => ({
      body: {
        data: {
          id: sha256(NOTE),
          attributes: { last_analysis_stats: stats, last_analysis_results: results },
        },
      },
    });
    fake().script(
      /files/,
      // The stats count three malicious verdicts that the results do not list.
      report(counts(3, 0), listed('undetected', '')),
      // The results list a malicious verdict that the stats do not count.
      report(counts(0, 0), listed('malicious', 'Trojan.Listed')),
      // Nothing counted as analysed at all, yet an engine's result is malicious.
      report(counts(0, 0, 0), listed('malicious', 'Trojan.Listed')),
      // The stats say malicious where the results only say suspicious.
      report(counts(2, 0), listed('suspicious', 'Heur.Listed')),
    );
    const threats = [];
    for (let i = 0; i < 4; i++) {
      const { outcome } = await scanner().scan(note());
      expect(outcome.type).toBe('infected');
      threats.push(outcome.type === 'infected' ? outcome.threats : []);
    }
    const unlisted = (count: number, category: string, severity: string) => ({
      name: `VirusTotal.${category}`,
      severity,
      engine: 'virustotal',
      description: `counted by ${count} of VirusTotal's engines in its stats, with no per-engine result`,
    });
    const trojan = {
      name: 'Trojan.Listed',
      severity: 'high',
      engine: 'virustotal',
      description: 'reported by Alpha',
    };
    expect(threats).toEqual([
      [unlisted(3, 'malicious', 'high')],
      [trojan],
      [trojan],
      [
        {
          name: 'Heur.Listed',
          severity: 'medium',
          engine: 'virustotal',
          description: 'reported by Alpha',
        },
        unlisted(2, 'malicious', 'high'),
      ],
    ]);
  });

  it('tells VirusTotal\'s "not found" from a 404 of some other server', async () => {
    fake().script(/files/, { status: 404, body: '<html>no such page</html>' }, { status: 404 });
    const error = await failure(scanner().scan(eicar()));
    expect(error.kind).toBe('ambiguous_response');
    expect(error.message).toMatch(
      /answered 404 \(not VirusTotal's NotFoundError: is baseUrl right\?\)/,
    );
    await expect(scanner().healthCheck()).rejects.toMatchObject({ kind: 'ambiguous_response' });
    // A real VirusTotal knows EICAR: a health check that gets "not found" is not healthy.
    await expect(scanner().healthCheck()).rejects.toThrow(/does not know EICAR's hash/);
  });

  it('refuses answers over 8 MiB without reading them to the end', async () => {
    fake().script(/files/, { body: `{"pad": "${'x'.repeat(9 * 1024 * 1024)}"}` });
    const error = await failure(scanner().scan(eicar()));
    expect(error.message).toMatch(/answered with more than 8388608 bytes/);
  });

  it('looks up files of any size, and only refuses to upload one over maxUploadSize', async () => {
    const big = new Uint8Array(40 * 1024 * 1024).fill(0x62);
    const digest = createHash('sha256').update(big).digest('hex');
    fake().files.set(digest, fakeVerdict(Buffer.from('x')));
    expect((await scanner().scan(FileInput.fromBytes(big))).outcome).toEqual({ type: 'clean' });
    fake().files.delete(digest);
    const error = await failure(scanner({ uploadUnknown: true }).scan(FileInput.fromBytes(big)));
    expect(error.kind).toBe('file_too_large');
    expect(error.message).toMatch(/over maxUploadSize \(33554432\) to upload/);
    expect(fake().paths()).toEqual([`GET /api/v3/files/${digest}`, `GET /api/v3/files/${digest}`]);
  });

  it('fails with connection_failed when nothing listens', async () => {
    const port = await freePort();
    const error = await failure(
      new VirusTotalScanner({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}/api/v3` }).scan(
        eicar(),
      ),
    );
    expect(error.kind).toBe('connection_failed');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('stops at once when the caller aborts, with the caller reason', async () => {
    fake().script(/files/, { delayMs: 5_000 });
    const controller = new AbortController();
    const scanning = scanner().scan(eicar(), { signal: controller.signal });
    const reason = new Error('user went away');
    setTimeout(() => controller.abort(reason), 50);
    await expect(scanning).rejects.toBe(reason);
  });

  it('keeps the key out of results, errors and the scanner itself', async () => {
    const vt = scanner({ uploadUnknown: true });
    const result = await vt.scan(note());
    expect(JSON.stringify(result)).not.toContain(KEY);
    expect(inspect(vt, { depth: 10, showHidden: true })).not.toContain(KEY);
    // Server text that repeats the key, anywhere, is scrubbed before it is read.
    fake().script(/files/, {
      body: {
        data: {
          id: sha256(NOTE),
          attributes: {
            last_analysis_stats: {
              malicious: 1,
              suspicious: 0,
              undetected: 0,
              harmless: 0,
              [KEY]: 1,
            },
            last_analysis_results: {
              X: { category: 'malicious', engine_name: KEY, result: `Trojan.${KEY}` },
            },
          },
        },
      },
    });
    const echoed = await vt.scan(note());
    expect(JSON.stringify(echoed)).not.toContain(KEY);
    expect(JSON.stringify(echoed.outcome)).toContain('Trojan.[api key]');
    fake().script(/files/, { status: 500, body: { error: { message: `key was ${KEY}` } } });
    const error = await failure(vt.scan(note()));
    expect(
      `${error.message} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`,
    ).not.toContain(KEY);
  });

  it('health-checks with one lookup, which also checks the key', async () => {
    fake().files.set(EICAR_SHA256, fakeVerdict(Buffer.from(EICAR)));
    await expect(scanner().healthCheck()).resolves.toBeUndefined();
    expect(fake().paths()).toEqual([`GET /api/v3/files/${EICAR_SHA256}`]);
    await expect(scanner({ apiKey: 'wrong' }).healthCheck()).rejects.toMatchObject({
      kind: 'authentication_failed',
    });
  });

  it('refuses bad options, naming them and never the key', () => {
    const make = (options: object) => () =>
      new VirusTotalScanner({ apiKey: KEY, ...options } as VirusTotalScannerOptions);
    expect(make({ baseUrl: 'http://vt.example.com/api/v3' })).toThrow(
      /"baseUrl" must use https \(plain http only to a loopback address\), got http:\/\/vt\.example\.com/,
    );
    expect(make({ baseUrl: 'not a url' })).toThrow(/"baseUrl" must be an absolute URL/);
    expect(make({ maxUploadSize: 700_000_000 })).toThrow(/"maxUploadSize" must be <= 650000000/);
    for (const baseUrl of [
      'https://user:secret@vt.example.com/api/v3',
      'https://vt.example.com/api/v3?token=1',
    ]) {
      const error = (() => {
        try {
          make({ baseUrl })();
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error?.message).toMatch(/must not carry credentials, a query or a fragment/);
      expect(error?.message).not.toContain('secret');
    }
    expect(make({ uploadUnknown: 'yes' })).toThrow(/"uploadUnknown" must be a boolean/);
    expect(make({ pollIntervall: 5 })).toThrow(/unknown option "pollIntervall"/);
    const spaced = `${KEY} `;
    expect(make({ apiKey: spaced })).toThrow(/"apiKey" must be printable ASCII without spaces/);
    expect(() => new VirusTotalScanner({} as VirusTotalScannerOptions)).toThrow(
      /"apiKey" must be a non-empty string, got undefined/,
    );
  });

  it('works as one engine of a ScanManager', async () => {
    fake().files.set(EICAR_SHA256, fakeVerdict(Buffer.from(EICAR)));
    const manager = ScanManager.builder()
      .addScanner(withCircuitBreaker(scanner(), { failureThreshold: 2 }))
      .build();
    const { report, decision } = await manager.scanWithPolicy(eicar());
    expect(report.aggregatedOutcome.type).toBe('infected');
    expect(decision.action.type).toBe('block');
  });
});
