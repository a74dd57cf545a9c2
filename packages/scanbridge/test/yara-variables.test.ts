import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ScanError } from '../src/errors.js';
import { FileInput } from '../src/input.js';
import { ScanManager } from '../src/manager.js';
import { YaraScanner } from '../src/yara/yara-scanner.js';
import { bytes, entries, tempDirs } from './helpers.js';

const newDir = tempDirs();

/** An executable's first bytes: what a rule on `extension` is for. */
const MZ = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62)]);

const EXE_AS_DOCUMENT = `
rule Exe_As_Document {
  condition:
    uint16(0) == 0x5A4D and extension matches /^(pdf|docx?|png|jpe?g|gif)$/
}
`;

/** Each case: the name the caller gives, and the filename and extension rules must see. */
const NAMES: ReadonlyArray<readonly [string | undefined, string, string]> = [
  ['report.PDF', 'report.PDF', 'pdf'],
  ['archive.tar.gz', 'archive.tar.gz', 'gz'],
  ['README', 'README', ''],
  ['.bashrc', '.bashrc', ''],
  ['trailing.', 'trailing.', ''],
  ['Résumé.Docx', 'Résumé.Docx', 'docx'],
  ['写真.JPEG', '写真.JPEG', 'jpeg'],
  ['uploads/2026/invoice.pdf', 'invoice.pdf', 'pdf'],
  ['C:\\Users\\bob\\Q3 plan.xlsx', 'Q3 plan.xlsx', 'xlsx'],
  // What Windows saves these as: trailing dots and spaces dropped, a stream suffix is no name.
  ['invoice.pdf.', 'invoice.pdf.', 'pdf'],
  ['invoice.pdf ', 'invoice.pdf ', 'pdf'],
  ['photo.PNG. . ', 'photo.PNG. . ', 'png'],
  ['invoice.pdf::$DATA', 'invoice.pdf::$DATA', 'pdf'],
  ['report.docx:hidden.exe', 'report.docx:hidden.exe', 'docx'],
  ['... ', '... ', ''],
  // Blanks a reader cannot see after the extension: judged by the extension they follow.
  ['invoice.pdf\u2800', 'invoice.pdf\u2800', 'pdf'],
  ['invoice.pdf\u00a0', 'invoice.pdf\u00a0', 'pdf'],
  ['invoice.pdf\u3000', 'invoice.pdf\u3000', 'pdf'],
  ['invoice.pdf\u2003', 'invoice.pdf\u2003', 'pdf'],
  ['invoice.pdf\ufe0f', 'invoice.pdf\ufe0f', 'pdf'],
  [undefined, '', ''],
];

/** One rule per expected filename and one per expected extension, each matching only that value. */
function probeRules(): {
  rules: string;
  filenameRule: string[];
  extensionRule: Map<string, string>;
} {
  const filenameRule = NAMES.map((_, i) => `Filename_${i}`);
  const extensionRule = new Map(
    [...new Set(NAMES.map(([, , ext]) => ext))].map((e, i) => [e, `Ext_${i}`]),
  );
  const rules = [
    ...NAMES.map(
      ([, name], i) => `rule Filename_${i} { condition: filename == ${JSON.stringify(name)} }`,
    ),
    ...[...extensionRule].map(
      ([ext, rule]) => `rule ${rule} { condition: extension == ${JSON.stringify(ext)} }`,
    ),
  ].join('\n');
  return { rules, filenameRule, extensionRule };
}

async function matched(scanner: YaraScanner, input: FileInput): Promise<string[]> {
  const result = await scanner.scan(input);
  return [...((result.details?.rules as string[] | undefined) ?? [])].sort();
}

describe('YaraScanner variables filename and extension', () => {
  it('match an executable under a document name, not under its own or under none', async () => {
    const scanner = new YaraScanner({ rules: EXE_AS_DOCUMENT });
    const outcome = async (name?: string): Promise<string> =>
      (await scanner.scan(FileInput.fromBytes(MZ, name))).outcome.type;
    expect(await outcome('report.PDF')).toBe('infected');
    expect(await outcome('scans/photo.JPG')).toBe('infected');
    expect(await outcome('setup.exe')).toBe('clean');
    expect(await outcome('report.pdf.exe')).toBe('clean');
    expect(await outcome('pdf')).toBe('clean');
    expect(await outcome()).toBe('clean');
    // The name alone is not enough: the rule still reads the content.
    expect(
      (await scanner.scan(FileInput.fromBytes(bytes('%PDF-1.7'), 'report.pdf'))).outcome.type,
    ).toBe('clean');
  });

  it('are the base name as given and its last extension, lower case, for every kind of name', async () => {
    const { rules, filenameRule, extensionRule } = probeRules();
    const scanner = new YaraScanner({ rules });
    for (const [i, [name, , ext]] of NAMES.entries()) {
      const expected = [filenameRule[i], extensionRule.get(ext)].sort();
      expect({
        name,
        rules: await matched(scanner, FileInput.fromBytes(bytes('x'), name)),
      }).toEqual({
        name,
        rules: expected,
      });
    }
  });

  it('are set for a path, a large input scanned from disk and a stream through the manager', async () => {
    const { rules, filenameRule, extensionRule } = probeRules();
    const scanner = new YaraScanner({ rules, spoolDir: await newDir() });
    const dir = await newDir();
    const large = join(dir, 'invoice.pdf');
    await writeFile(large, Buffer.alloc(2 * 1024 * 1024, 0x61));
    const pdf = [filenameRule[7], extensionRule.get('pdf')].sort();
    // A path's own base name by default; the caller's name when given.
    expect(await matched(scanner, FileInput.fromPath(large))).toEqual(pdf);
    expect(await matched(scanner, FileInput.fromPath(large, 'README'))).toEqual(
      [filenameRule[2], extensionRule.get('')].sort(),
    );
    const manager = ScanManager.builder().addScanner(scanner).build();
    const report = await manager.scan(
      FileInput.fromStream(Readable.from([Buffer.alloc(2 * 1024 * 1024, 0x62)]), {
        filename: 'archive.tar.gz',
      }),
    );
    expect(report.results[0]?.details).toEqual({
      rules: expect.arrayContaining([filenameRule[1], extensionRule.get('gz')]),
    });
    expect(report.results[0]?.details?.rules).toHaveLength(2);
    expect(await entries(dir)).toEqual(['invoice.pdf']);
  });

  it('leave rules that do not use them unaffected, and an undeclared one is still an error at its line', async () => {
    const plain = new YaraScanner({
      rules: 'rule Marker { strings: $m = "marker-42" condition: $m }',
    });
    expect(
      (await plain.scan(FileInput.fromBytes(bytes('a marker-42'), 'x.pdf'))).outcome.type,
    ).toBe('infected');
    const dir = await newDir();
    const file = join(dir, 'typo.yar');
    await writeFile(file, 'rule Typo {\n  condition:\n    file_name == "x"\n}\n');
    let error: unknown;
    try {
      new YaraScanner({ rules: { file } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining(`${file}:3:5: unknown identifier \`file_name\` (E009)`),
    });
  });

  it('never fail a scan on a name the binding would take for a number or a boolean', async () => {
    // @litko/yara-x 0.3.0 turns a scan variable that reads as an integer or a boolean into one,
    // and a string variable then refuses it: such a value reaches the rules as ''.
    const rules = [
      'rule Any_Name { condition: true }',
      'rule No_Filename { condition: filename == "" }',
      'rule No_Extension { condition: extension == "" }',
    ].join('\n');
    const scanner = new YaraScanner({ rules });
    const seen: Record<string, string[]> = {};
    const names = ['12345', 'true', 'FALSE', 'app.log.1', 'photo.2024', '+1', '-3', '00'];
    const kept = ['1e5', '0x10', 'NaN', 'Infinity', '1.5', 'archive.7z.001x', 'yes'];
    try {
      for (const name of [...names, ...kept]) {
        seen[name] = await matched(scanner, FileInput.fromBytes(bytes('x'), name));
      }
    } finally {
      await scanner.close();
    }
    const both = ['Any_Name', 'No_Extension', 'No_Filename'];
    const onlyExtension = ['Any_Name', 'No_Extension'];
    expect(seen).toEqual({
      '12345': both,
      true: both,
      FALSE: both,
      // The name is kept; its extension (1, 2024) is what the binding would convert.
      'app.log.1': onlyExtension,
      'photo.2024': onlyExtension,
      '+1': both,
      '-3': both,
      '00': both,
      '1e5': onlyExtension,
      '0x10': onlyExtension,
      NaN: onlyExtension,
      Infinity: onlyExtension,
      '1.5': onlyExtension,
      'archive.7z.001x': ['Any_Name'],
      yes: onlyExtension,
    });
  });
});
