import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withCircuitBreaker } from '../src/breaker-scanner.js';
import { ScanError } from '../src/errors.js';
import { FileInput } from '../src/input.js';
import { ScanManager } from '../src/manager.js';
import { YaraScanner } from '../src/yara/yara-scanner.js';
import { bytes, EICAR, EICAR_SHA256, entries, tempDirs } from './helpers.js';
import { SLOW_RULE, slowBytes, yaraChildren } from './yara-children.js';

const RULES = `
rule Eicar_Test_File {
  meta:
    severity = "critical"
    description = "the EICAR test string"
  strings:
    $eicar = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
  condition:
    $eicar
}

rule Plain_Marker {
  strings:
    $m = "breakwater-malicious-marker"
  condition:
    $m
}

rule Macro_Hint : suspicious {
  strings:
    $v = "vbaProject.bin"
  condition:
    $v
}
`;

const newDir = tempDirs();

function eicarFile(): FileInput {
  return FileInput.fromBytes(bytes(EICAR), 'eicar.com');
}

/** A stream of `count` chunks of 64 KiB, the last holding `tail`. */
async function* chunks(count: number, tail = ''): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count - 1; i++) yield new Uint8Array(64 * 1024).fill(0x61);
  yield bytes(`${'b'.repeat(100)}${tail}`);
}

describe('YaraScanner', () => {
  it('finds EICAR in bytes, with the severity from its meta', async () => {
    const scanner = new YaraScanner({ rules: RULES });
    const result = await scanner.scan(eicarFile());
    expect(result.outcome).toEqual({
      type: 'infected',
      threats: [
        {
          name: 'Eicar_Test_File',
          severity: 'critical',
          engine: 'yara',
          signatureId: 'default.Eicar_Test_File',
          description: 'the EICAR test string',
        },
      ],
    });
    expect(result.fileMetadata.hash.sha256).toBe(EICAR_SHA256);
    expect(result.engine).toBe('yara');
    expect(result.engineVersion).toMatch(/^yara-x 0\.3\.0 rules [0-9a-f]{12}$/);
  });

  it('says clean for a file no rule matches', async () => {
    const scanner = new YaraScanner({ rules: RULES });
    const result = await scanner.scan(FileInput.fromBytes(bytes('hello, world\n'), 'hello.txt'));
    expect(result.outcome).toEqual({ type: 'clean' });
  });

  it('gives a rule without severity meta the default, high', async () => {
    const scanner = new YaraScanner({ rules: RULES, name: 'rules-engine' });
    const result = await scanner.scan(FileInput.fromBytes(bytes('x breakwater-malicious-marker')));
    expect(result.outcome).toEqual({
      type: 'infected',
      threats: [
        {
          name: 'Plain_Marker',
          severity: 'high',
          engine: 'rules-engine',
          signatureId: 'default.Plain_Marker',
        },
      ],
    });
  });

  it('reads the severity meta in any case, and takes anything unknown for high', async () => {
    const scanner = new YaraScanner({
      rules: `
        rule Low { meta: severity = "LOW" strings: $a = "one" condition: $a }
        rule Medium { meta: severity = "medium" strings: $a = "two" condition: $a }
        rule Odd { meta: severity = "catastrophic" strings: $a = "three" condition: $a }
        rule Numeric { meta: severity = 9 strings: $a = "four" condition: $a }`,
    });
    const result = await scanner.scan(FileInput.fromBytes(bytes('one two three four')));
    const threats = result.outcome.type === 'infected' ? result.outcome.threats : [];
    expect(Object.fromEntries(threats.map((t) => [t.name, t.severity]))).toEqual({
      Low: 'low',
      Medium: 'medium',
      Odd: 'high',
      Numeric: 'high',
    });
  });

  it('says suspicious when only rules tagged suspicious match, infected when another does too', async () => {
    const scanner = new YaraScanner({ rules: RULES });
    const only = await scanner.scan(FileInput.fromBytes(bytes('word/vbaProject.bin')));
    expect(only.outcome).toEqual({
      type: 'suspicious',
      reason: 'YARA rules matched: Macro_Hint',
      confidence: 0.5,
    });
    const both = await scanner.scan(FileInput.fromBytes(bytes(`vbaProject.bin ${EICAR}`)));
    expect(both.outcome.type).toBe('infected');
    expect(both.details).toEqual({
      rules: expect.arrayContaining(['Eicar_Test_File', 'Macro_Hint']),
    });
  });

  it('takes a suspicious rule confidence from a numeric meta', async () => {
    const scanner = new YaraScanner({
      rules: 'rule Odd : suspicious { meta: confidence = 0.9 strings: $a = "odd" condition: $a }',
    });
    const result = await scanner.scan(FileInput.fromBytes(bytes('an odd file')));
    expect(result.outcome).toMatchObject({ type: 'suspicious', confidence: 0.9 });
  });

  it('scans a path, small (sent as bytes) and large (read again where it scans), making no copy', async () => {
    const dir = await newDir();
    const spoolDir = await newDir();
    const small = join(dir, 'eicar.com');
    await writeFile(small, EICAR);
    const large = join(dir, 'large.bin');
    await writeFile(
      large,
      Buffer.concat([Buffer.alloc(3 * 1024 * 1024, 0x61), Buffer.from(EICAR)]),
    );
    const scanner = new YaraScanner({ rules: RULES, spoolDir });
    const results = await Promise.all([
      scanner.scan(FileInput.fromPath(small)),
      scanner.scan(FileInput.fromPath(large)),
      scanner.scan(FileInput.fromPath(join(dir, 'eicar.com'))),
    ]);
    expect(results.map((r) => r.outcome.type)).toEqual(['infected', 'infected', 'infected']);
    expect(results[1]?.fileMetadata).toMatchObject({
      filename: 'large.bin',
      size: 3 * 1024 * 1024 + 68,
    });
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('scans a stream, and removes its copy', async () => {
    const spoolDir = await newDir();
    const scanner = new YaraScanner({ rules: RULES, spoolDir });
    const infected = await scanner.scan(
      FileInput.fromStream(Readable.from(chunks(40, EICAR)), { filename: 'upload.bin' }),
    );
    expect(infected.outcome.type).toBe('infected');
    expect(infected.fileMetadata.size).toBe(39 * 64 * 1024 + 100 + 68);
    const clean = await scanner.scan(FileInput.fromStream(chunks(3)));
    expect(clean.outcome).toEqual({ type: 'clean' });
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('removes the copy of a stream that fails half-way', async () => {
    const spoolDir = await newDir();
    const scanner = new YaraScanner({ rules: RULES, spoolDir });
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield* chunks(30);
      throw new Error('the client went away');
    }
    const failed = await scanner.scan(FileInput.fromStream(broken())).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ScanError);
    expect(failed).toMatchObject({
      kind: 'io',
      message: expect.stringContaining('client went away'),
    });
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('fails with file_too_large past maxFileSize, without a copy left', async () => {
    const spoolDir = await newDir();
    const scanner = new YaraScanner({ rules: RULES, spoolDir, maxFileSize: 2 * 1024 * 1024 });
    const failed = await scanner.scan(FileInput.fromStream(chunks(64))).catch((e: unknown) => e);
    expect(failed).toMatchObject({ kind: 'file_too_large' });
    expect(scanner.maxFileSize).toBe(2 * 1024 * 1024);
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('stops at once on an aborted signal or a timeout, leaving no copy', async () => {
    const spoolDir = await newDir();
    const scanner = new YaraScanner({ rules: RULES, spoolDir });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(scanner.scan(eicarFile(), { signal: controller.signal })).rejects.toMatchObject({
      kind: 'cancelled',
      engine: 'yara',
      cause: reason,
    });
    const later = new AbortController();
    const scanning = scanner.scan(FileInput.fromStream(chunks(40, EICAR)), {
      signal: later.signal,
    });
    later.abort(reason);
    await expect(scanning).rejects.toMatchObject({ kind: 'cancelled', cause: reason });
    const midway = new AbortController();
    async function* abortsMidway(): AsyncGenerator<Uint8Array> {
      yield* chunks(30);
      midway.abort(reason);
      yield* chunks(10);
    }
    await expect(
      scanner.scan(FileInput.fromStream(abortsMidway()), { signal: midway.signal }),
    ).rejects.toMatchObject({ kind: 'cancelled' });
    let release: () => void = () => {};
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield bytes('start');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    }
    const timedOut = await scanner
      .scan(FileInput.fromStream(stalled()), { timeoutMs: 20 })
      .catch((e: unknown) => e);
    release();
    expect(timedOut).toMatchObject({ kind: 'timeout', engine: 'yara' });
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('answers healthCheck and signatureVersion; the version follows the rules', async () => {
    const a = new YaraScanner({ rules: RULES });
    const b = new YaraScanner({
      rules: `${RULES}\nrule Extra { strings: $x = "extra" condition: $x }`,
    });
    await expect(a.healthCheck()).resolves.toBeUndefined();
    expect(await a.signatureVersion()).toBe(
      await new YaraScanner({ rules: RULES }).signatureVersion(),
    );
    expect(await a.signatureVersion()).not.toBe(await b.signatureVersion());
  });

  it('scans a 20 MB file, making no copy', async () => {
    const dir = await newDir();
    const path = join(dir, 'big.bin');
    await writeFile(
      path,
      Buffer.concat([Buffer.alloc(20 * 1024 * 1024, 0x61), Buffer.from(EICAR)]),
    );
    const scanner = new YaraScanner({ rules: RULES, spoolDir: dir });
    const result = await scanner.scan(FileInput.fromPath(path));
    expect(result.outcome.type).toBe('infected');
    expect(await entries(dir)).toEqual(['big.bin']);
    await scanner.close();
  });
});

/** A rule for script tags: an input made of them matches it a million times. */
const SCRIPT_RULE = `${RULES}\nrule Html_Script { strings: $s = "<script" nocase condition: $s }`;

/** The rules with one slow to scan: 768 KiB under it take YARA-X well over a second. */
const SLOW_RULES = `${RULES}\n${SLOW_RULE}`;

async function slowFile(dir: string): Promise<FileInput> {
  const path = join(dir, 'slow.html');
  await writeFile(path, slowBytes(768));
  return FileInput.fromPath(path);
}

/** Runs `work` beside a 10 ms interval; the longest time between two of its ticks. */
async function longestGap<T>(
  work: () => Promise<T>,
): Promise<{ value: T; gap: number; ms: number }> {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 10);
  const began = performance.now();
  try {
    const value = await work();
    return { value, gap: Math.max(gap, performance.now() - last), ms: performance.now() - began };
  } finally {
    clearInterval(timer);
  }
}

describe('YaraScanner on a slow scan', () => {
  it('keeps the event loop running while YARA-X scans, in its own process', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES, spoolDir: dir });
    try {
      const input = await slowFile(dir);
      const { value, gap, ms } = await longestGap(() => scanner.scan(input));
      expect(value.outcome).toMatchObject({ type: 'infected', threats: [{ name: 'Slow' }] });
      // The scan is long enough that a scan on the main thread would fail the gap check.
      expect(ms).toBeGreaterThan(600);
      expect(gap).toBeLessThan(200);
      expect(await entries(dir)).toEqual(['slow.html']);
    } finally {
      await scanner.close();
    }
  });

  it('times out at once (the process is killed), and the next scan works', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES, spoolDir: dir });
    try {
      const input = await slowFile(dir);
      const { value, gap, ms } = await longestGap(() =>
        scanner.scan(input, { timeoutMs: 100 }).catch((e: unknown) => e),
      );
      expect(value).toBeInstanceOf(ScanError);
      expect(value).toMatchObject({ kind: 'timeout', engine: 'yara' });
      expect(ms).toBeLessThan(400);
      expect(gap).toBeLessThan(200);
      const next = await scanner.scan(eicarFile());
      expect(next.outcome).toMatchObject({
        type: 'infected',
        threats: [{ name: 'Eicar_Test_File' }],
      });
      expect(await entries(dir)).toEqual(['slow.html']);
    } finally {
      await scanner.close();
    }
  });

  it("ends on the caller's abort at once; a scan waiting its turn behind it goes on", async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES, spoolDir: dir });
    try {
      const controller = new AbortController();
      const reason = new Error('client gone');
      const slow = scanner.scan(await slowFile(dir), { signal: controller.signal });
      const waiting = scanner.scan(eicarFile());
      setTimeout(() => controller.abort(reason), 100);
      const began = performance.now();
      await expect(slow).rejects.toMatchObject({ kind: 'cancelled', cause: reason });
      expect(performance.now() - began).toBeLessThan(400);
      expect((await waiting).outcome.type).toBe('infected');
    } finally {
      await scanner.close();
    }
  });

  it('opens a breaker on a slow scan that times out', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES, spoolDir: dir });
    const yara = withCircuitBreaker(scanner, { failureThreshold: 1, openDuration: 60_000 });
    try {
      const began = performance.now();
      await expect(yara.scan(await slowFile(dir), { timeoutMs: 100 })).rejects.toMatchObject({
        kind: 'timeout',
      });
      expect(performance.now() - began).toBeLessThan(400);
      expect(yara.breaker.state().name).toBe('open');
    } finally {
      await scanner.close();
    }
  });

  it('close() ends a scan in progress as cancelled; a later scan starts a new process', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES, spoolDir: dir });
    const slow = scanner.scan(await slowFile(dir)).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await scanner.close();
    expect(await slow).toMatchObject({ kind: 'cancelled' });
    expect((await scanner.scan(eicarFile())).outcome.type).toBe('infected');
    await scanner.close();
  });
});

describe('YaraScanner behind a breaker, in a ScanManager', () => {
  it('scans bytes, a path and a stream through the manager', async () => {
    const dir = await newDir();
    const path = join(dir, 'eicar.com');
    await writeFile(path, EICAR);
    const yara = withCircuitBreaker(new YaraScanner({ rules: RULES, spoolDir: dir }), {
      failureThreshold: 3,
    });
    const manager = ScanManager.builder().addScanner(yara).withConfig({ spoolDir: dir }).build();
    const fromBytes = await manager.scan(eicarFile(), { tenantId: 'acme' });
    expect(fromBytes.aggregatedOutcome).toMatchObject({
      type: 'infected',
      threats: [{ name: 'Eicar_Test_File', severity: 'critical', engine: 'yara' }],
    });
    const fromPath = await manager.scan(FileInput.fromPath(path));
    expect(fromPath.aggregatedOutcome.type).toBe('infected');
    const fromStream = await manager.scan(FileInput.fromStream(Readable.from(chunks(40, EICAR))));
    expect(fromStream.aggregatedOutcome.type).toBe('infected');
    const clean = await manager.scan(FileInput.fromBytes(bytes('nothing to see'), 'a.txt'));
    expect(clean.aggregatedOutcome).toEqual({ type: 'clean' });
    expect(fromStream.failures).toEqual([]);
    expect(yara.breaker.state().name).toBe('closed');
    expect(await entries(dir)).toEqual(['eicar.com']);
  });

  it('opens its breaker on timeouts, then refuses scans without reading them', async () => {
    const yara = withCircuitBreaker(new YaraScanner({ rules: RULES }), {
      failureThreshold: 1,
      openDuration: 60_000,
    });
    let release: () => void = () => {};
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield bytes('start');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    }
    const timedOut = await yara
      .scan(FileInput.fromStream(stalled()), { timeoutMs: 20 })
      .catch((e: unknown) => e);
    release();
    expect(timedOut).toMatchObject({ kind: 'timeout' });
    expect(yara.breaker.state().name).toBe('open');
    await expect(yara.scan(eicarFile())).rejects.toMatchObject({ kind: 'circuit_open' });
  });
});

/** The peak resident memory of `pid` so far (VmHWM), in bytes. */
function peakMemory(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

function only<T>(values: readonly T[]): T {
  expect(values).toHaveLength(1);
  return values[0] as T;
}

describe('YaraScanner on an input made of what a rule looks for', () => {
  it('keeps its process small and lets a scan queued behind it finish within its timeout', async () => {
    const dir = await newDir();
    // 16 MB of a script tag: a match every 13 bytes, each once a JavaScript object.
    const path = join(dir, 'crafted.svg');
    await writeFile(path, `<svg>${'<svg <script '.repeat(16 * 80_660)}`);
    const scanner = new YaraScanner({ rules: SCRIPT_RULE, spoolDir: dir });
    try {
      // Other tests' scanners leave their idle processes: this one is the new one.
      const others = new Set(yaraChildren(process.pid));
      await scanner.scan(FileInput.fromBytes(bytes('warm up')));
      const child = only(yaraChildren(process.pid).filter((pid) => !others.has(pid)));
      const crafted = scanner.scan(FileInput.fromPath(path), { timeoutMs: 60_000 });
      const behind = scanner.scan(FileInput.fromBytes(Buffer.alloc(10_000, 0x61), 'a.txt'), {
        timeoutMs: 5_000,
      });
      const [big, small] = await Promise.allSettled([crafted, behind]);
      expect(big).toMatchObject({
        status: 'fulfilled',
        value: { outcome: { type: 'infected', threats: [{ name: 'Html_Script' }] } },
      });
      expect(small).toMatchObject({ status: 'fulfilled', value: { outcome: { type: 'clean' } } });
      // The file itself is read whole (16 MB); a million match objects were ~450 MB more.
      expect(peakMemory(child)).toBeLessThan(200 * 1024 * 1024);
    } finally {
      await scanner.close();
    }
  });
});
