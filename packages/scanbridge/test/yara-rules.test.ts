import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScanError } from '../src/errors.js';
import { FileInput } from '../src/input.js';
import { loadYara } from '../src/yara/yara-module.js';
import { YaraScanner } from '../src/yara/yara-scanner.js';
import { bytes, EICAR, tempDirs } from './helpers.js';

const newDir = tempDirs();

const EICAR_RULE = 'rule Eicar { strings: $e = "EICAR-STANDARD" condition: $e }\n';
const MARKER_RULE = 'rule Marker { strings: $m = "marker-42" condition: $m }\n';
// Line 4 is where the condition ends too early.
const BROKEN_RULE = 'rule Broken {\n  strings: $a = "x"\n  condition: $a and\n}\n';

function failure(build: () => unknown): unknown {
  try {
    build();
  } catch (error) {
    return error;
  }
  throw new Error('expected the construction to fail');
}

describe('YaraScanner rules', () => {
  it('compiles a rule file', async () => {
    const dir = await newDir();
    const file = join(dir, 'eicar.yar');
    await writeFile(file, EICAR_RULE);
    const scanner = new YaraScanner({ rules: { file } });
    expect(scanner.ruleFiles).toEqual([file]);
    const result = await scanner.scan(FileInput.fromBytes(bytes(EICAR)));
    expect(result.outcome).toMatchObject({ type: 'infected', threats: [{ name: 'Eicar' }] });
  });

  it('fails at construction with a configuration error naming the file and line', async () => {
    const dir = await newDir();
    const file = join(dir, 'broken.yar');
    await writeFile(file, BROKEN_RULE);
    const error = failure(() => new YaraScanner({ rules: { file } }));
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({ kind: 'configuration', engine: 'yara' });
    expect((error as ScanError).message).toContain(`${file}:4:1: syntax error (E001)`);
  });

  it('names the line of an error in inline rule text', () => {
    const error = failure(() => new YaraScanner({ rules: BROKEN_RULE, name: 'inline' }));
    expect(error).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining(
        'inline: the YARA rules do not compile (1 error):\n  rules:4:1:',
      ),
    });
  });

  it('loads every .yar and .yara file of a directory, sorted, and nothing else', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'b-marker.yara'), MARKER_RULE);
    await writeFile(join(dir, 'a-eicar.yar'), EICAR_RULE);
    await writeFile(join(dir, 'notes.txt'), 'not a rule at all {');
    await mkdir(join(dir, 'sub.yar'));
    const scanner = new YaraScanner({ rules: { dir } });
    expect(scanner.ruleFiles).toEqual([join(dir, 'a-eicar.yar'), join(dir, 'b-marker.yara')]);
    const result = await scanner.scan(FileInput.fromBytes(bytes(`marker-42 ${EICAR}`)));
    expect(result.outcome).toMatchObject({
      type: 'infected',
      threats: expect.arrayContaining([
        expect.objectContaining({ name: 'Eicar' }),
        expect.objectContaining({ name: 'Marker' }),
      ]),
    });
  });

  it('loads symlinked rule files, as a Kubernetes ConfigMap mounts them', async () => {
    const dir = await newDir();
    // <dir>/..2026_12_01/eicar.yar, ..data -> ..2026_12_01, eicar.yar -> ..data/eicar.yar
    await mkdir(join(dir, '..2026_12_01'));
    await writeFile(join(dir, '..2026_12_01', 'eicar.yar'), EICAR_RULE);
    await symlink('..2026_12_01', join(dir, '..data'));
    await symlink(join('..data', 'eicar.yar'), join(dir, 'eicar.yar'));
    await writeFile(join(dir, 'local.yar'), MARKER_RULE);
    const scanner = new YaraScanner({ rules: { dir } });
    expect(scanner.ruleFiles).toEqual([join(dir, 'eicar.yar'), join(dir, 'local.yar')]);
    const result = await scanner.scan(FileInput.fromBytes(bytes(EICAR)));
    expect(result.outcome).toMatchObject({ type: 'infected', threats: [{ name: 'Eicar' }] });
    await scanner.close();
  });

  it('fails on a dangling symlinked rule file instead of leaving it out', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'local.yar'), MARKER_RULE);
    await symlink(join(dir, 'gone.yar'), join(dir, 'eicar.yar'));
    await symlink(join(dir, 'gone.txt'), join(dir, 'notes.txt'));
    const error = failure(() => new YaraScanner({ rules: { dir } }));
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining(`cannot read the rule file ${join(dir, 'eicar.yar')}`),
    });
  });

  it("names each broken file of a directory with its errors' lines", async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'a.yar'), EICAR_RULE);
    await writeFile(join(dir, 'b.yar'), BROKEN_RULE);
    await writeFile(join(dir, 'c.yar'), '\n\nrule C { condition: nope }\n');
    const error = failure(() => new YaraScanner({ rules: { dir } })) as ScanError;
    expect(error.kind).toBe('configuration');
    expect(error.message).toContain('(2 errors)');
    expect(error.message).toContain(`${join(dir, 'b.yar')}:4:1: syntax error`);
    expect(error.message).toContain(`${join(dir, 'c.yar')}:3:21: unknown identifier`);
    expect(error.message).not.toContain('a.yar');
  });

  it('names both places of a rule declared in two files, at their lines', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'a.yar'), `${EICAR_RULE}${MARKER_RULE}`);
    await writeFile(
      join(dir, 'b.yar'),
      `// more rules\n\nrule Other { condition: true }\n${EICAR_RULE}`,
    );
    await writeFile(
      join(dir, 'c.yar'),
      `\n/* private rules */\nprivate rule Marker { condition: true }\n`,
    );
    const error = failure(() => new YaraScanner({ rules: { dir } })) as ScanError;
    expect(error.kind).toBe('configuration');
    const a = join(dir, 'a.yar');
    expect(error.message).toBe(
      `yara: the YARA rules do not compile (2 errors):` +
        `\n  ${join(dir, 'b.yar')}:4: duplicate rule "Eicar" (first declared at ${a}:1)` +
        `\n  ${join(dir, 'c.yar')}:3: duplicate rule "Marker" (first declared at ${a}:2)`,
    );
  });

  it('takes no comment, text string or regular expression for a rule declaration', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'a.yar'), EICAR_RULE);
    await writeFile(
      join(dir, 'b.yar'),
      [
        '// rule Eicar was here',
        '/* rule Eicar',
        '   rule Marker */',
        'rule Decoys {',
        '  meta: note = "rule Eicar \\" rule Eicar"',
        '  strings: $a = /rule Eicar\\/x/ $b = "decoy-7"',
        '  condition: $a or $b',
        '}',
        'rule Marker { strings: $m = "marker-42" condition: $m }',
      ].join('\n'),
    );
    const scanner = new YaraScanner({ rules: { dir } });
    const result = await scanner.scan(FileInput.fromBytes(bytes(`${EICAR} marker-42 decoy-7`)));
    expect(result.details).toEqual({ rules: ['Eicar', 'Decoys', 'Marker'] });
  });

  it('lets a rule use a rule of an earlier file, and reads a file that starts with a byte order mark', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'a.yar'), `\uFEFF${EICAR_RULE}`);
    await writeFile(
      join(dir, 'b.yar'),
      'rule Eicar_In_Pdf { condition: Eicar and extension == "pdf" }\n',
    );
    const scanner = new YaraScanner({ rules: { dir } });
    const result = await scanner.scan(FileInput.fromBytes(bytes(EICAR), 'x.pdf'));
    expect(result.details).toEqual({ rules: ['Eicar', 'Eicar_In_Pdf'] });
  });

  it('names an error in a later file at its own line, after an earlier file of many lines', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'a.yar'), `${'// a comment\n'.repeat(40)}${EICAR_RULE}`);
    await writeFile(join(dir, 'b.yar'), MARKER_RULE.trimEnd());
    await writeFile(join(dir, 'c.yar'), '\n\nrule C { condition: nope }\n');
    const error = failure(() => new YaraScanner({ rules: { dir } })) as ScanError;
    expect(error.message).toBe(
      `yara: the YARA rules do not compile (1 error):\n  ${join(dir, 'c.yar')}:3:21: unknown identifier \`nope\` (E009): this identifier has not been declared`,
    );
  });

  it('names a file that ends inside a comment or a text string, instead of losing the next file to it', async () => {
    for (const [tail, at] of [
      ['/* TODO', '2:1: syntax error (E001)'],
      ['rule Note { meta: text = "unfinished\n', '2:'],
    ] as const) {
      const dir = await newDir();
      await writeFile(join(dir, '1-first.yar'), `rule First { condition: true }\n${tail}`);
      await writeFile(
        join(dir, '2-second.yar'),
        'rule Second { condition: true }\n/* a normal comment */\nrule Third { condition: true }\n',
      );
      const error = failure(() => new YaraScanner({ rules: { dir } })) as ScanError;
      expect(error).toBeInstanceOf(ScanError);
      expect(error.kind).toBe('configuration');
      expect(error.message).toContain(`${join(dir, '1-first.yar')}:${at}`);
      expect(error.message).not.toContain('2-second.yar');
    }
  });

  it('names the line of a duplicate within one file, as the compiler does', async () => {
    const dir = await newDir();
    const file = join(dir, 'twice.yar');
    await writeFile(file, `${EICAR_RULE}\n${EICAR_RULE}`);
    const error = failure(() => new YaraScanner({ rules: { file } })) as ScanError;
    expect(error.message).toContain(`(1 error):\n  ${file}:3:6: duplicate rule \`Eicar\``);
  });

  it('says what is wrong with a missing file, a missing or empty directory', async () => {
    const dir = await newDir();
    expect(
      failure(() => new YaraScanner({ rules: { file: join(dir, 'none.yar') } })),
    ).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining(
        `cannot read the rule file ${join(dir, 'none.yar')}: no such file (ENOENT)`,
      ),
    });
    expect(failure(() => new YaraScanner({ rules: { dir: join(dir, 'nope') } }))).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining('cannot read the rules directory'),
    });
    expect(failure(() => new YaraScanner({ rules: { dir } }))).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining('has no *.yar or *.yara file'),
    });
  });

  it('validates its options', () => {
    expect(() => new YaraScanner({ rules: EICAR_RULE, maxFileSize: 0 })).toThrow(RangeError);
    expect(() => new YaraScanner({ rules: EICAR_RULE, naem: 'x' } as never)).toThrow(/naem/);
    expect(() => new YaraScanner({} as never)).toThrow(/"rules" is required/);
    expect(() => new YaraScanner({ rules: '' })).toThrow(TypeError);
    expect(() => new YaraScanner({ rules: 42 } as never)).toThrow(
      /rule text, \{ file \} or \{ dir \}/,
    );
    expect(() => new YaraScanner({ rules: { file: 'a', dir: 'b' } } as never)).toThrow(
      /exactly one of "file" or "dir"/,
    );
    expect(() => new YaraScanner({ rules: { files: 'a' } } as never)).toThrow(/files/);
  });

  it('says which package to install when the binding is missing', () => {
    const error = failure(() => loadYara('@litko/yara-x-not-installed'));
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining('is not installed: run `npm install @litko/yara-x@^0.3.0`'),
    });
    expect(loadYara().version).toBe('0.3.0');
  });
});
