import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  ClamAvScanner,
  FileInput,
  presets,
  ScanManager,
  type ScanResult,
  withCircuitBreaker,
  YaraScanner,
} from '@breakwater/scanbridge';
import { compile, validate, type YaraX } from '@litko/yara-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../../scanbridge/test/clamd.js';
import { cpuTicks, eventually, yaraChildren } from '../../scanbridge/test/yara-children.js';
import { eicar, elf, pe, RULES, type RuleSample, ruleSamples } from './rule-samples.js';

const RULES_DIR = fileURLToPath(new URL('../rules/', import.meta.url));
const RULE_FILES = readdirSync(RULES_DIR)
  .filter((name) => name.endsWith('.yar'))
  .sort();
// What YaraScanner defines for every scan (scanbridge README, "YaraScanner (YARA-X)").
const VARIABLES = { filename: '', extension: '' };

/**
 * As YaraScanner derives it, for the direct YARA-X check (scanbridge README: the name as
 * Windows saves it, cut at a `:`, trailing dots and spaces dropped; the samples' names have no
 * path and none reads as a number).
 */
function extensionOf(filename: string): string {
  const saved = filename.replace(/:.*$/s, '').replace(/[. ]+$/, '');
  const dot = saved.lastIndexOf('.');
  return dot <= 0 ? '' : saved.slice(dot + 1).toLowerCase();
}

function expectVerdict(result: ScanResult, sample: Pick<RuleSample, 'expect'>): void {
  const { rule, outcome } = sample.expect;
  if (outcome === 'clean') {
    expect(result.outcome).toEqual({ type: 'clean' });
  } else if (outcome === 'infected') {
    expect(result.outcome).toMatchObject({
      type: 'infected',
      threats: [{ name: rule, engine: 'yara' }],
    });
    expect(result.outcome.type === 'infected' && result.outcome.threats).toHaveLength(1);
  } else {
    expect(result.outcome).toMatchObject({
      type: 'suspicious',
      reason: `YARA rules matched: ${rule}`,
    });
  }
}

describe('the shipped YARA rules', () => {
  let scanner: YaraScanner;
  let built: YaraScanner | undefined;
  beforeAll(() => {
    built = new YaraScanner({ rules: { dir: RULES_DIR } });
    scanner = built;
  });
  afterAll(async () => {
    await built?.close();
  });

  it('are four rule files that compile with neither errors nor warnings', () => {
    expect(RULE_FILES).toEqual([
      'eicar.yar',
      'executable-as-document.yar',
      'html-svg-script.yar',
      'office-vba-project.yar',
    ]);
    expect(scanner.ruleFiles).toEqual(RULE_FILES.map((name) => join(RULES_DIR, name)));
    for (const name of RULE_FILES) {
      const source = readFileSync(join(RULES_DIR, name), 'utf8');
      expect({ name, ...validate(source, { defineVariables: VARIABLES }) }).toEqual({
        name,
        warnings: [],
        errors: [],
      });
    }
  });

  it('keep every pattern short-sighted: no gap or repetition of more than 64 bytes', () => {
    // A pattern with a long gap costs its whole length at each place its anchor occurs: an
    // upload made of nothing but the anchor (" onx=" a million times) held YARA-X for 18 s per
    // MB with a 2 KiB gap. Whitespace runs (\s*) are the one unbounded repetition: each is
    // crossed once. Text strings have no repetition to check.
    const declaration = /^\s*\$\w+\s*=\s*("(?:[^"\\]|\\.)*"|\/.*\/|\{[^}]*\})/gm;
    for (const name of RULE_FILES) {
      const source = readFileSync(join(RULES_DIR, name), 'utf8').replace(/\/\/[^\n]*/g, '');
      const patterns = [...source.matchAll(declaration)].map((m) => m[1] ?? '');
      // Every declared pattern was read (executable-as-document.yar has none: it reads headers).
      expect(patterns.length, name).toBe(source.match(/^\s*\$\w+\s*=/gm)?.length ?? 0);
      for (const pattern of patterns.filter((p) => !p.startsWith('"'))) {
        const bounds = [...pattern.matchAll(/\{(\d+),(\d+)\}|\[(\d+)-(\d+)\]/g)];
        const long = bounds.map((m) => Number(m[2] ?? m[4])).filter((n) => n > 64);
        const open = pattern.replace(/\\s\*/g, '').match(/[^\\][*+]|\{\d+,\}|\[\d*-\]/g) ?? [];
        expect({ name, pattern, long, open }).toEqual({ name, pattern, long: [], open: [] });
      }
    }
  });

  it('match each sample with exactly its rule, each rule declaring description, severity and reference', () => {
    const source = RULE_FILES.map((name) => readFileSync(join(RULES_DIR, name), 'utf8')).join('\n');
    // compile() is typed as an undeclared YaraXImpl in @litko/yara-x 0.3.0: it is a YaraX.
    const rules: YaraX = compile(source, { defineVariables: VARIABLES });
    const seen = new Map<string, Record<string, unknown>>();
    for (const sample of ruleSamples()) {
      const variables = { filename: sample.filename, extension: extensionOf(sample.filename) };
      const matched = rules.scan(sample.bytes, variables);
      expect({ sample: sample.name, rules: matched.map((m) => m.ruleIdentifier) }).toEqual({
        sample: sample.name,
        rules: sample.expect.rule === null ? [] : [sample.expect.rule],
      });
      for (const match of matched)
        seen.set(match.ruleIdentifier, match.meta as Record<string, unknown>);
    }
    const severity = {
      eicar: 'high',
      executable: 'high',
      vba: 'medium',
      script: 'medium',
    } as const;
    for (const [key, rule] of Object.entries(RULES) as [keyof typeof RULES, string][]) {
      const meta = seen.get(rule);
      expect(meta, rule).toMatchObject({ severity: severity[key] });
      expect(meta?.description, rule).toMatch(/\w{3,}/);
      expect(meta?.reference, rule).toMatch(/^https:\/\//);
    }
  });

  it('have, for every rule, samples it flags and near misses it must not flag', () => {
    const samples = ruleSamples();
    expect(new Set(samples.map((s) => s.name)).size).toBe(samples.length);
    for (const rule of Object.values(RULES)) {
      expect(samples.filter((s) => s.expect.rule === rule).length, rule).toBeGreaterThan(0);
      expect(samples.filter((s) => s.nearMissOf === rule).length, rule).toBeGreaterThan(0);
    }
    for (const sample of samples) {
      expect(sample.expect.rule === null, sample.name).toBe(sample.expect.outcome === 'clean');
    }
  });

  it('are kept, with their samples, free of the EICAR string (it is built from two halves)', () => {
    const eicarText = eicar().toString('latin1');
    const here = fileURLToPath(new URL('.', import.meta.url));
    const ours = [
      ...RULE_FILES.map((name) => join(RULES_DIR, name)),
      join(here, 'rule-samples.ts'),
      join(here, 'rules.test.ts'),
    ];
    for (const path of ours) {
      expect(readFileSync(path, 'latin1').includes(eicarText), path).toBe(false);
    }
    expect(eicar()).toHaveLength(68);
    // The hash clamd's test signature names: the samples' EICAR is the real one.
    expect(createHash('md5').update(eicar()).digest('hex')).toBe(
      '44d88612fea8a8f36de82e1278abb02f',
    );
  });

  describe.each(ruleSamples().map((sample) => [sample.name, sample] as const))(
    '%s',
    (_, sample) => {
      it(`is ${sample.expect.outcome}${sample.expect.rule === null ? '' : ` by ${sample.expect.rule}`}`, async () => {
        const result = await scanner.scan(FileInput.fromBytes(sample.bytes, sample.filename));
        expectVerdict(result, sample);
      });
    },
  );

  it('lead, behind a breaker and the default policy, to block, quarantine or allow', async () => {
    const manager = ScanManager.builder()
      .addScanner(withCircuitBreaker(scanner, presets.strict()))
      .build();
    const decisions = { infected: 'block', suspicious: 'quarantine', clean: 'allow' } as const;
    for (const sample of ruleSamples()) {
      const { report, decision } = await manager.scanWithPolicy(
        FileInput.fromBytes(sample.bytes, sample.filename),
      );
      expect({ sample: sample.name, decision: decision.action.type }).toEqual({
        sample: sample.name,
        decision: decisions[sample.expect.outcome],
      });
      expect(report.fileMetadata.filename).toBe(sample.filename);
    }
  });

  it('read the name from a caller-given path, an upper-case extension, or a file on disk', async () => {
    const result = await scanner.scan(FileInput.fromBytes(elf(), 'uploads/2026/SCAN.JPEG'));
    expectVerdict(result, { expect: { rule: RULES.executable, outcome: 'infected' } });
    const dir = await mkdtemp(join(tmpdir(), 'gateway-rules-'));
    try {
      await writeFile(join(dir, 'invoice.pdf'), pe());
      const onDisk = await scanner.scan(FileInput.fromPath(join(dir, 'invoice.pdf')));
      expectVerdict(onDisk, { expect: { rule: RULES.executable, outcome: 'infected' } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const nameless = await scanner.scan(FileInput.fromBytes(elf()));
    expectVerdict(nameless, { expect: { rule: null, outcome: 'clean' } });
  });

  it('flag a disguised executable streamed past the in-memory limit (scanned from a spooled copy)', async () => {
    const padded = Buffer.concat([pe(), Buffer.alloc(3 * 1024 * 1024, 0x90)]);
    const input = FileInput.fromStream(
      Readable.from([padded.subarray(0, 1024), padded.subarray(1024)]),
      {
        filename: 'invoice.pdf',
      },
    );
    const result = await scanner.scan(input);
    expectVerdict(result, { expect: { rule: RULES.executable, outcome: 'infected' } });
    expect(result.fileMetadata.size).toBe(padded.length);
  });

  it('scan an upload made of what they look for without holding up the scans behind it', async () => {
    // Every pattern of Html_Svg_Script, over and over: before the scanning process capped the
    // matches it keeps, 24 MB of this held it 11 s and the 10 KB scans behind it timed out.
    const unit = '<svg <script a=javascript: onab=<a:svg ';
    const crafted = Buffer.from(unit.repeat(Math.ceil((16 << 20) / unit.length)), 'latin1');
    const dir = await mkdtemp(join(tmpdir(), 'gateway-rules-'));
    try {
      await writeFile(join(dir, 'crafted.svg'), crafted);
      const busy = (): number =>
        yaraChildren(process.pid).reduce((ticks, pid) => ticks + cpuTicks(pid), 0);
      const idle = busy();
      const big = scanner.scan(FileInput.fromPath(join(dir, 'crafted.svg')), {
        timeoutMs: 60_000,
      });
      // Queued behind the crafted scan once its process works on it (if it is not done by then).
      await eventually(() => busy() > idle + 5, 5_000);
      const small = scanner.scan(FileInput.fromBytes(Buffer.alloc(10_000, 0x61), 'notes.txt'), {
        timeoutMs: 5_000,
      });
      const [bigResult, smallResult] = await Promise.allSettled([big, small]);
      expect(bigResult).toMatchObject({
        status: 'fulfilled',
        value: { outcome: { type: 'suspicious', reason: `YARA rules matched: ${RULES.script}` } },
      });
      expect(smallResult).toMatchObject({
        status: 'fulfilled',
        value: { outcome: { type: 'clean' } },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('find nothing in 10 MB of clean content: a PDF-like binary (with their patterns out of place) and an HTML page without script', async () => {
    const size = 10 * 1024 * 1024;
    // Deterministic noise with every byte value, so a loose rule would have a chance to trip.
    const binary = Buffer.alloc(size);
    let x = 0x12345678;
    for (let i = 0; i < size; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      binary[i] = x >>> 24;
    }
    Buffer.from('%PDF-1.7\n').copy(binary);
    // What each rule looks for, but not where or how it looks: they must not count here.
    const traps = [eicar(), pe(), Buffer.from('word/vbaProject.bin <script>alert(1)</script>')];
    traps.forEach((trap, i) => {
      trap.copy(binary, (i + 1) * 2 * 1024 * 1024);
    });
    const pdf = await scanner.scan(FileInput.fromBytes(binary, 'big.pdf'));
    expectVerdict(pdf, { expect: { rule: null, outcome: 'clean' } });

    const paragraph =
      '<p class="note" title="on = off">Run the deploy script on Monday; online onboarding is done.</p>\n';
    const page = `<!DOCTYPE html>\n<html><body>${paragraph.repeat(Math.ceil(size / paragraph.length))}</body></html>`;
    const html = await scanner.scan(FileInput.fromBytes(Buffer.from(page), 'big.html'));
    expectVerdict(html, { expect: { rule: null, outcome: 'clean' } });
    expect(html.fileMetadata.size).toBeGreaterThan(size);
  });
});

// The demo and the end-to-end tests upload these samples to a gateway that also runs clamd (the
// test harness's: one signature, the EICAR file's md5): the verdict they expect is this one.
describe('the rule samples through the shipped rules and a real clamd together', () => {
  const clamd = useClamd();
  let yara: YaraScanner | undefined;
  let clamav: ClamAvScanner | undefined;
  afterAll(async () => {
    await Promise.all([yara?.close(), clamav?.close()]);
  });

  it('come out as the samples say; clamd adds only the exact EICAR file', async () => {
    yara = new YaraScanner({ rules: { dir: RULES_DIR } });
    clamav = new ClamAvScanner({ socketPath: clamd().socketPath });
    const manager = ScanManager.builder()
      .addScanner(withCircuitBreaker(yara, presets.strict()))
      .addScanner(withCircuitBreaker(clamav, presets.strict()))
      .build();
    for (const sample of ruleSamples()) {
      const report = await manager.scan(FileInput.fromBytes(sample.bytes, sample.filename));
      const byEngine = Object.fromEntries(report.results.map((r) => [r.engine, r.outcome.type]));
      expect({ sample: sample.name, outcome: report.aggregatedOutcome.type, byEngine }).toEqual({
        sample: sample.name,
        outcome: sample.expect.outcome,
        byEngine: {
          yara: sample.expect.outcome,
          clamav: sample.name === 'eicar' ? 'infected' : 'clean',
        },
      });
    }
  });
});
