// Samples for the shipped YARA rules (packages/gateway/rules), built at run time so the repository
// holds neither an EICAR file nor an executable: each rule gets files that must match and near
// misses that must not. Plain node: code with no test framework, so the demo's traffic and the
// end-to-end tests can upload the same files.
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';

export type SampleOutcome = 'clean' | 'infected' | 'suspicious';

export interface RuleSample {
  /** Unique, kebab-case: what the file is. */
  readonly name: string;
  /** The name it is uploaded under: the executable rule reads its extension. */
  readonly filename: string;
  readonly bytes: Buffer;
  /** The rule that must match (null: none) and the YaraScanner outcome that follows. */
  readonly expect: { readonly rule: string | null; readonly outcome: SampleOutcome };
  /** For a clean sample: the rule a careless version of which would flag it. */
  readonly nearMissOf?: string;
}

/** The rule identifiers, as the rule files declare them. */
export const RULES = {
  eicar: 'Eicar_Test_File',
  executable: 'Executable_As_Document',
  vba: 'Office_Vba_Project',
  script: 'Html_Svg_Script',
} as const;

/** The EICAR test string, joined from two halves so no source file contains it whole. */
export function eicar(): Buffer {
  const head = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-';
  const tail = 'STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
  return Buffer.from(head + tail, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// Executables

/**
 * A minimal well-formed PE32+ image for x86-64: DOS header and stub, `PE\0\0` at e_lfanew, COFF
 * header, optional header with 16 empty data directories, one .text section holding
 * `xor eax, eax; ret`.
 */
export function pe(): Buffer {
  const b = Buffer.alloc(0x400);
  const lfanew = 0x80;
  b.write('MZ', 0, 'latin1');
  b.writeUInt16LE(0x90, 0x02); // bytes on the last page
  b.writeUInt16LE(3, 0x04); // pages
  b.writeUInt16LE(4, 0x08); // header paragraphs
  b.writeUInt16LE(0xffff, 0x0c); // max extra paragraphs
  b.writeUInt16LE(0xb8, 0x10); // initial SP
  b.writeUInt16LE(0x40, 0x18); // relocation table offset
  b.writeUInt32LE(lfanew, 0x3c);
  Buffer.from([
    0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21,
  ]).copy(b, 0x40);
  b.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  b.write('PE\0\0', lfanew, 'latin1');
  const coff = lfanew + 4;
  b.writeUInt16LE(0x8664, coff); // machine: x86-64
  b.writeUInt16LE(1, coff + 2); // sections
  b.writeUInt16LE(240, coff + 16); // optional header size
  b.writeUInt16LE(0x0022, coff + 18); // executable image, large address aware
  const opt = coff + 20;
  b.writeUInt16LE(0x20b, opt); // PE32+
  b.writeUInt8(14, opt + 2); // linker version
  b.writeUInt32LE(0x200, opt + 4); // size of code
  b.writeUInt32LE(0x1000, opt + 16); // entry point
  b.writeUInt32LE(0x1000, opt + 20); // base of code
  b.writeBigUInt64LE(0x140000000n, opt + 24); // image base
  b.writeUInt32LE(0x1000, opt + 32); // section alignment
  b.writeUInt32LE(0x200, opt + 36); // file alignment
  b.writeUInt16LE(6, opt + 40); // OS version
  b.writeUInt16LE(6, opt + 48); // subsystem version
  b.writeUInt32LE(0x2000, opt + 56); // size of image
  b.writeUInt32LE(0x200, opt + 60); // size of headers
  b.writeUInt16LE(3, opt + 68); // subsystem: console
  b.writeUInt16LE(0x8160, opt + 70); // DLL characteristics: NX, ASLR, high entropy VA, TS aware
  b.writeBigUInt64LE(0x100000n, opt + 72); // stack reserve
  b.writeBigUInt64LE(0x1000n, opt + 80); // stack commit
  b.writeBigUInt64LE(0x100000n, opt + 88); // heap reserve
  b.writeBigUInt64LE(0x1000n, opt + 96); // heap commit
  b.writeUInt32LE(16, opt + 108); // data directories
  const section = opt + 240;
  b.write('.text', section, 'latin1');
  b.writeUInt32LE(3, section + 8); // virtual size
  b.writeUInt32LE(0x1000, section + 12); // virtual address
  b.writeUInt32LE(0x200, section + 16); // raw size
  b.writeUInt32LE(0x200, section + 20); // raw offset
  b.writeUInt32LE(0x60000020, section + 36); // code, execute, read
  Buffer.from([0x31, 0xc0, 0xc3]).copy(b, 0x200);
  return b;
}

/** A complete static ELF64 executable for x86-64 Linux that calls exit(0). */
export function elf(): Buffer {
  const code = Buffer.from([0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05]);
  const b = Buffer.alloc(64 + 56 + code.length);
  const base = 0x400000n;
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b, 0); // ELF, 64-bit, little-endian, v1
  b.writeUInt16LE(2, 16); // executable
  b.writeUInt16LE(0x3e, 18); // x86-64
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(base + 120n, 24); // entry
  b.writeBigUInt64LE(64n, 32); // program headers
  b.writeUInt16LE(64, 52);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(1, 56);
  b.writeUInt16LE(64, 58);
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(5, 68); // read, execute
  b.writeBigUInt64LE(base, 80);
  b.writeBigUInt64LE(base, 88);
  b.writeBigUInt64LE(BigInt(b.length), 96);
  b.writeBigUInt64LE(BigInt(b.length), 104);
  b.writeBigUInt64LE(0x1000n, 112);
  code.copy(b, 120);
  return b;
}

export type MachOKind = '32le' | '32be' | '64le' | '64be';

const MACHO_CPU: Record<MachOKind, number> = {
  '32le': 7, // i386
  '32be': 18, // PowerPC
  '64le': 0x0100000c, // arm64
  '64be': 0x01000012, // PowerPC 64
};

/** A Mach-O executable header with no load commands, in either width and byte order. */
export function machO(kind: MachOKind = '64le', cpu: number = MACHO_CPU[kind]): Buffer {
  const wide = kind.startsWith('64');
  const big = kind.endsWith('be');
  const b = Buffer.alloc(wide ? 32 : 28);
  const u32 = (value: number, at: number): number =>
    big ? b.writeUInt32BE(value, at) : b.writeUInt32LE(value, at);
  u32(wide ? 0xfeedfacf : 0xfeedface, 0);
  u32(cpu, 4);
  u32(cpu === MACHO_CPU['64le'] ? 0 : 3, 8); // CPU subtype: all
  u32(2, 12); // MH_EXECUTE
  return b;
}

const X86_64 = 0x01000007;

/** A universal (fat) binary: big-endian fat header, x86-64 and arm64 slices 4 KiB aligned. */
export function fatMachO(wide = false): Buffer {
  const slices = [
    { cpu: X86_64, sub: 3, bytes: machO('64le', X86_64) },
    { cpu: MACHO_CPU['64le'], sub: 0, bytes: machO('64le') },
  ];
  const align = 4096;
  const out = Buffer.alloc(align * (slices.length + 1));
  out.writeUInt32BE(wide ? 0xcafebabf : 0xcafebabe, 0);
  out.writeUInt32BE(slices.length, 4);
  slices.forEach((slice, i) => {
    const entry = 8 + i * (wide ? 32 : 20);
    const offset = align * (i + 1);
    out.writeUInt32BE(slice.cpu, entry);
    out.writeUInt32BE(slice.sub, entry + 4);
    if (wide) {
      out.writeBigUInt64BE(BigInt(offset), entry + 8);
      out.writeBigUInt64BE(BigInt(slice.bytes.length), entry + 16);
      out.writeUInt32BE(12, entry + 24);
    } else {
      out.writeUInt32BE(offset, entry + 8);
      out.writeUInt32BE(slice.bytes.length, entry + 12);
      out.writeUInt32BE(12, entry + 16);
    }
    slice.bytes.copy(out, offset);
  });
  return out;
}

/** A Java class file: it starts 0xCAFEBABE like a fat binary, then its version (Java 8). */
export function javaClass(): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt16BE(0, 4); // minor
  b.writeUInt16BE(52, 6); // major: Java 8
  b.writeUInt16BE(1, 8); // constant pool count
  return b;
}

// ---------------------------------------------------------------------------------------------
// Images

/** A real 2x2 RGB PNG: signature, IHDR, zlib-compressed IDAT, IEND, every CRC right. */
export function png(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // truecolour
  // Each row: filter byte 0, then two RGB pixels.
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Office documents

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer | string;
  /** Default true (deflate, as Office writes); false stores the bytes as they are. */
  readonly deflate?: boolean;
}

/** A zip file: local headers, deflated (or stored) data, the central directory, its end record. */
export function zip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const raw = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data);
    const deflate = entry.deflate ?? true;
    const data = deflate ? deflateRawSync(raw) : raw;
    const name = Buffer.from(entry.name);
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt16LE(0x0021, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by
    local.copy(central, 6, 4, 30); // version needed .. name length
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export type OoxmlKind = 'docx' | 'xlsx' | 'pptx';

const OOXML = {
  docx: {
    dir: 'word',
    main: 'document.xml',
    type: 'wordprocessingml.document',
    macro: 'ms-word.document.macroEnabled',
  },
  xlsx: {
    dir: 'xl',
    main: 'workbook.xml',
    type: 'spreadsheetml.sheet',
    macro: 'ms-excel.sheet.macroEnabled',
  },
  pptx: {
    dir: 'ppt',
    main: 'presentation.xml',
    type: 'presentationml.presentation',
    macro: 'ms-powerpoint.presentation.macroEnabled',
  },
} as const;

const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/**
 * An OOXML package with its content types, relationships and main part; with `macros`, the
 * macro-enabled content type and a `vbaProject.bin` part (an OLE2 VBA project) related to it.
 * `mainText` replaces the main part's text (for near misses that only mention a part name);
 * `vbaPart` the VBA project's part name.
 */
export function ooxml(
  kind: OoxmlKind,
  macros: boolean,
  mainText?: string,
  vbaPart?: string,
): Buffer {
  const { dir, main, type, macro } = OOXML[kind];
  const mainType = macros
    ? `application/vnd.${macro}.main+xml`
    : `application/vnd.openxmlformats-officedocument.${type}.main+xml`;
  const contentTypes =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    (macros
      ? '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
      : '') +
    `<Override PartName="/${dir}/${main}" ContentType="${mainType}"/></Types>`;
  const rootRels =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    `<Relationship Id="rId1" Type="${REL}/officeDocument" Target="${dir}/${main}"/></Relationships>`;
  const body =
    mainText ??
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<root>quarterly figures</root>`;
  const entries: ZipEntry[] = [
    { name: '[Content_Types].xml', data: contentTypes },
    { name: '_rels/.rels', data: rootRels },
    { name: `${dir}/${main}`, data: body, deflate: mainText === undefined },
  ];
  if (macros) {
    entries.push(
      {
        name: `${dir}/_rels/${main}.rels`,
        data:
          '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
      },
      { name: vbaPart ?? `${dir}/vbaProject.bin`, data: ole2({ vba: true }) },
    );
  }
  return zip(entries);
}

interface DirectoryEntry {
  readonly name: string;
  /** 1 storage, 2 stream, 5 root. */
  readonly type: 1 | 2 | 5;
  readonly child?: number;
  readonly right?: number;
  readonly start?: number;
  readonly size?: number;
}

const SECTOR = 512;
const NOSTREAM = 0xffffffff;
const ENDOFCHAIN = 0xfffffffe;
const FATSECT = 0xfffffffd;
const FREESECT = 0xffffffff;

/**
 * A version 3 compound file (OLE2, the legacy Office container): header, one FAT sector, a
 * directory of two sectors and, for the document text, one 4 KiB stream in regular sectors.
 * With `vba`, Word's macro storages: Macros / VBA / _VBA_PROJECT and dir. `text` is the
 * WordDocument stream's content (UTF-16LE), so a near miss can mention VBA without having it.
 */
export function ole2({
  vba,
  text = 'Quarterly figures',
  names = { storage: 'VBA', stream: '_VBA_PROJECT' },
}: {
  vba: boolean;
  text?: string;
  /** The VBA storage's and stream's names: the compound file format compares them in any case. */
  names?: { readonly storage: string; readonly stream: string };
}): Buffer {
  const textSectors = 8;
  const directorySectors = 2;
  // Sector 0: the FAT; 1-2: the directory; 3-10: the WordDocument stream.
  const entries: DirectoryEntry[] = [
    // No mini stream: every stream here is empty or in regular sectors.
    { name: 'Root Entry', type: 5, child: 1, start: ENDOFCHAIN },
    {
      name: 'WordDocument',
      type: 2,
      start: 3,
      size: textSectors * SECTOR,
      ...(vba ? { right: 2 } : {}),
    },
  ];
  if (vba) {
    entries.push(
      { name: 'Macros', type: 1, child: 3 },
      { name: names.storage, type: 1, child: 4 },
      { name: names.stream, type: 2, start: ENDOFCHAIN, size: 0, right: 5 },
      { name: 'dir', type: 2, start: ENDOFCHAIN, size: 0 },
    );
  }
  const header = Buffer.alloc(SECTOR);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(header, 0);
  header.writeUInt16LE(0x3e, 24); // minor version
  header.writeUInt16LE(3, 26); // major version: 512-byte sectors
  header.writeUInt16LE(0xfffe, 28); // little-endian
  header.writeUInt16LE(9, 30); // sector shift
  header.writeUInt16LE(6, 32); // mini sector shift
  header.writeUInt32LE(1, 44); // FAT sectors
  header.writeUInt32LE(1, 48); // first directory sector
  header.writeUInt32LE(4096, 56); // mini stream cutoff
  header.writeUInt32LE(ENDOFCHAIN, 60); // no mini FAT
  header.writeUInt32LE(ENDOFCHAIN, 68); // no DIFAT sectors
  header.writeUInt32LE(0, 76); // DIFAT[0]: the FAT is sector 0
  for (let at = 80; at < SECTOR; at += 4) header.writeUInt32LE(FREESECT, at);

  const fat = Buffer.alloc(SECTOR, 0xff);
  const chain = (first: number, count: number): void => {
    for (let i = 0; i < count; i++)
      fat.writeUInt32LE(i === count - 1 ? ENDOFCHAIN : first + i + 1, (first + i) * 4);
  };
  fat.writeUInt32LE(FATSECT, 0);
  chain(1, directorySectors);
  chain(3, textSectors);

  const directory = Buffer.alloc(directorySectors * SECTOR);
  entries.forEach((entry, i) => {
    const at = i * 128;
    const name = Buffer.from(`${entry.name}\0`, 'utf16le');
    name.copy(directory, at);
    directory.writeUInt16LE(name.length, at + 64);
    directory.writeUInt8(entry.type, at + 66);
    directory.writeUInt8(1, at + 67); // black
    directory.writeUInt32LE(NOSTREAM, at + 68); // left sibling
    directory.writeUInt32LE(entry.right ?? NOSTREAM, at + 72);
    directory.writeUInt32LE(entry.child ?? NOSTREAM, at + 76);
    directory.writeUInt32LE(entry.start ?? (entry.type === 2 ? ENDOFCHAIN : 0), at + 116);
    directory.writeUInt32LE(entry.size ?? 0, at + 120);
  });
  for (let i = entries.length; i < (directorySectors * SECTOR) / 128; i++) {
    const at = i * 128;
    directory.writeUInt32LE(NOSTREAM, at + 68);
    directory.writeUInt32LE(NOSTREAM, at + 72);
    directory.writeUInt32LE(NOSTREAM, at + 76);
  }

  const body = Buffer.alloc(textSectors * SECTOR);
  Buffer.from(text, 'utf16le').copy(body);
  return Buffer.concat([header, fat, directory, body]);
}

// ---------------------------------------------------------------------------------------------
// The samples

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

const BOM = '\ufeff';

const PLAIN_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<title>on = off</title><rect x="2" y="2" width="12" height="12" fill="#2a7"/></svg>\n';

const PLAIN_HTML =
  '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Release notes</title></head>\n' +
  '<body><h1>Deploy script</h1><p>Run the script once; the description says: onboarding is done.</p>' +
  '<p>Escaped markup is text: &lt;script&gt;alert(1)&lt;/script&gt;, and so is javascript: here.</p>' +
  '<a href="https://example.com/javascript-guide">guide</a></body></html>\n';

/**
 * Every sample, a fresh copy each call: for each rule the files it must flag, then the near
 * misses a careless version of it would flag too.
 */
export function ruleSamples(): RuleSample[] {
  const flags = (rule: string, outcome: 'infected' | 'suspicious') => ({
    expect: { rule, outcome },
  });
  const misses = (rule: string) => ({
    expect: { rule: null, outcome: 'clean' as const },
    nearMissOf: rule,
  });
  const eicarFile = flags(RULES.eicar, 'infected');
  const notEicar = misses(RULES.eicar);
  const disguised = flags(RULES.executable, 'infected');
  const notDisguised = misses(RULES.executable);
  const macros = flags(RULES.vba, 'suspicious');
  const noMacros = misses(RULES.vba);
  const script = flags(RULES.script, 'suspicious');
  const noScript = misses(RULES.script);
  return [
    { name: 'eicar', filename: 'eicar.com', bytes: eicar(), ...eicarFile },
    {
      name: 'eicar-trailing-whitespace',
      filename: 'eicar.txt',
      bytes: Buffer.concat([eicar(), text(' \t\r\n\x1a')]),
      ...eicarFile,
    },
    {
      name: 'eicar-quoted-in-a-document',
      filename: 'notes.txt',
      bytes: Buffer.concat([text('Our scanner test uses this string:\n'), eicar(), text('\n')]),
      ...notEicar,
    },
    {
      name: 'eicar-followed-by-text',
      filename: 'eicar.txt',
      bytes: Buffer.concat([eicar(), text('\nnot whitespace')]),
      ...notEicar,
    },
    {
      name: 'eicar-padded-past-128-bytes',
      filename: 'eicar.txt',
      bytes: Buffer.concat([eicar(), Buffer.alloc(61, 0x20)]),
      ...notEicar,
    },

    { name: 'pe-as-pdf', filename: 'invoice.pdf', bytes: pe(), ...disguised },
    { name: 'pe-as-docx', filename: 'Contract.DOCX', bytes: pe(), ...disguised },
    { name: 'elf-as-png', filename: 'photo.png', bytes: elf(), ...disguised },
    { name: 'elf-as-csv', filename: 'export.2026.csv', bytes: elf(), ...disguised },
    { name: 'macho-64le-as-jpg', filename: 'scan.jpg', bytes: machO('64le'), ...disguised },
    { name: 'macho-32le-as-gif', filename: 'anim.gif', bytes: machO('32le'), ...disguised },
    { name: 'macho-32be-as-tiff', filename: 'page.tiff', bytes: machO('32be'), ...disguised },
    { name: 'macho-64be-as-rtf', filename: 'letter.rtf', bytes: machO('64be'), ...disguised },
    { name: 'macho-fat-as-xlsx', filename: 'budget.xlsx', bytes: fatMachO(), ...disguised },
    { name: 'macho-fat64-as-svg', filename: 'logo.svg', bytes: fatMachO(true), ...disguised },
    // Windows saves these as invoice.pdf / photo.png: trailing dots and spaces are dropped, and
    // what follows a colon names an NTFS stream.
    { name: 'pe-as-pdf-trailing-dot', filename: 'invoice.pdf.', bytes: pe(), ...disguised },
    { name: 'pe-as-pdf-trailing-space', filename: 'invoice.pdf ', bytes: pe(), ...disguised },
    { name: 'elf-as-png-dot-and-space', filename: 'photo.png. ', bytes: elf(), ...disguised },
    { name: 'pe-as-pdf-ntfs-stream', filename: 'invoice.pdf::$DATA', bytes: pe(), ...disguised },
    ...(
      [
        ['jfif', 'scan.jfif'],
        ['heic', 'IMG_0001.HEIC'],
        ['heif', 'photo.heif'],
        ['avif', 'banner.avif'],
        ['ico', 'favicon.ico'],
        ['pages', 'letter.pages'],
        ['key', 'talk.key'],
        ['numbers', 'budget.numbers'],
        ['epub', 'book.epub'],
        ['dotx', 'template.dotx'],
        ['ppsx', 'show.ppsx'],
        ['xlsb', 'model.xlsb'],
        ['odg', 'drawing.odg'],
        ['md', 'README.md'],
        ['json', 'data.json'],
        ['xml', 'feed.xml'],
        ['html', 'page.html'],
      ] as const
    ).map(([ext, filename]) => ({
      name: `pe-as-${ext}`,
      filename,
      bytes: pe(),
      ...disguised,
    })),
    { name: 'pe-as-exe', filename: 'setup.exe', bytes: pe(), ...notDisguised },
    // A double extension is a program named for what it is: whether programs may be uploaded
    // at all is the policy's business (documented in the README).
    { name: 'pe-as-pdf-exe', filename: 'invoice.pdf.exe', bytes: pe(), ...notDisguised },
    { name: 'elf-without-extension', filename: 'server', bytes: elf(), ...notDisguised },
    {
      name: 'mz-text-file',
      filename: 'states.txt',
      bytes: text(
        `MZ is the code on the first line of this list.\n${'NY NJ PA OH IN IL MI WI\n'.repeat(8)}`,
      ),
      ...notDisguised,
    },
    {
      // "PE\0\0" is there, four bytes after where e_lfanew points.
      name: 'mz-with-pe-signature-off-lfanew',
      filename: 'data.bmp',
      bytes: Buffer.concat([
        text('MZ'),
        Buffer.alloc(0x3a),
        Buffer.from([0x40, 0, 0, 0]),
        text('DATAPE\0\0'),
        Buffer.alloc(64),
      ]),
      ...notDisguised,
    },
    {
      name: 'pdf-embedding-an-elf',
      filename: 'manual.pdf',
      bytes: Buffer.concat([text('%PDF-1.7\n'), elf()]),
      ...notDisguised,
    },
    { name: 'java-class-as-txt', filename: 'Main.txt', bytes: javaClass(), ...notDisguised },
    { name: 'real-png', filename: 'pixel.png', bytes: png(), ...notDisguised },

    { name: 'docm-with-vba', filename: 'report.docm', bytes: ooxml('docx', true), ...macros },
    { name: 'xlsm-with-vba', filename: 'budget.xlsm', bytes: ooxml('xlsx', true), ...macros },
    { name: 'pptm-with-vba', filename: 'deck.pptm', bytes: ooxml('pptx', true), ...macros },
    { name: 'doc-with-vba', filename: 'legacy.doc', bytes: ole2({ vba: true }), ...macros },
    {
      // Part names are case-insensitive in OOXML.
      name: 'docm-with-upper-case-vba-part',
      filename: 'report.docm',
      bytes: ooxml('docx', true, undefined, 'WORD/VBAPROJECT.BIN'),
      ...macros,
    },
    {
      // Visio keeps it under visio/, and any other producer may use a folder of its own.
      name: 'vsdm-with-vba',
      filename: 'diagram.vsdm',
      bytes: ooxml('docx', true, undefined, 'visio/vbaProject.bin'),
      ...macros,
    },
    {
      name: 'ooxml-with-vba-in-another-folder',
      filename: 'custom.docm',
      bytes: ooxml('docx', true, undefined, 'custom_app-2/VbaProject.bin'),
      ...macros,
    },
    {
      name: 'doc-with-lower-case-vba-names',
      filename: 'legacy.doc',
      bytes: ole2({ vba: true, names: { storage: 'vba', stream: '_vba_project' } }),
      ...macros,
    },
    {
      name: 'xls-with-mixed-case-vba-names',
      filename: 'legacy.xls',
      bytes: ole2({ vba: true, names: { storage: 'Vba', stream: '_Vba_Project' } }),
      ...macros,
    },
    {
      // Not the part: a longer name that starts like it.
      name: 'docx-with-vbaproject-bin-xml-part',
      filename: 'report.docx',
      bytes: ooxml('docx', true, undefined, 'word/vbaProject.bin.xml'),
      ...noMacros,
    },
    {
      name: 'docx-without-macros',
      filename: 'report.docx',
      bytes: ooxml('docx', false),
      ...noMacros,
    },
    {
      name: 'docx-mentioning-vbaproject',
      filename: 'howto.docx',
      bytes: ooxml(
        'docx',
        false,
        '<root>Macros live in word/vbaProject.bin and xl/vbaProject.bin.</root>',
      ),
      ...noMacros,
    },
    { name: 'doc-without-vba', filename: 'legacy.doc', bytes: ole2({ vba: false }), ...noMacros },
    {
      name: 'doc-mentioning-vba',
      filename: 'manual.doc',
      bytes: ole2({ vba: false, text: 'VBA\0 code lives in the _VBA_PROJECT\0 stream.' }),
      ...noMacros,
    },

    {
      name: 'svg-with-script',
      filename: 'badge.svg',
      bytes: text(PLAIN_SVG.replace('</svg>', '<script>fetch("/steal")</script></svg>')),
      ...script,
    },
    {
      name: 'svg-with-namespaced-script',
      filename: 'chart.svg',
      bytes: text(
        '<?xml version="1.0"?>\n<svg:svg xmlns:svg="http://www.w3.org/2000/svg"><svg:script>alert(1)</svg:script></svg:svg>',
      ),
      ...script,
    },
    {
      name: 'svg-prefixed-root-with-onload',
      filename: 'badge.svg',
      bytes: text('<svg:svg xmlns:svg="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
      ...script,
    },
    {
      name: 'svg-with-onload',
      filename: 'icon.svg',
      bytes: text(
        `${BOM}\n  <?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg>\n<svg/onload=alert(1) xmlns="http://www.w3.org/2000/svg"></svg>`,
      ),
      ...script,
    },
    {
      name: 'html-with-script',
      filename: 'page.html',
      bytes: text(
        PLAIN_HTML.replace('</body>', '<SCRIPT src="https://cdn.example/x.js"></SCRIPT></body>'),
      ),
      ...script,
    },
    {
      name: 'html-with-javascript-url',
      filename: 'links.htm',
      bytes: text(
        '<html><body><a href = " javascript:alert(document.cookie)">win</a></body></html>',
      ),
      ...script,
    },
    {
      name: 'html-with-event-handler',
      filename: 'image.html',
      bytes: text('\r\n<!doctype HTML><img src="x"onerror="alert(1)">'),
      ...script,
    },
    {
      // Browsers render HTML without a doctype or <html>: a .html name says it is a page.
      name: 'html-fragment-with-script',
      filename: 'page.html',
      bytes: text('<script>alert(document.cookie)</script>'),
      ...script,
    },
    {
      name: 'html-fragment-with-onerror',
      filename: 'page.htm',
      bytes: text('<img src=x onerror=alert(document.cookie)>'),
      ...script,
    },
    {
      // What Internet Explorer and Edge write when they save a page.
      name: 'html-saved-with-a-comment-first',
      filename: 'saved.bin',
      bytes: text(
        '<!-- saved from url=(0014)about:internet -->\n<!DOCTYPE html>\n<html><body onload="alert(1)"></body></html>',
      ),
      ...script,
    },
    {
      name: 'html-starting-with-meta',
      filename: 'upload',
      bytes: text('<meta charset="utf-8">\n<title>x</title><script>alert(1)</script>'),
      ...script,
    },
    {
      name: 'html-starting-with-head',
      filename: 'upload',
      bytes: text('<head><script>alert(1)</script></head>'),
      ...script,
    },
    {
      name: 'svg-with-svg-doctype',
      filename: 'icon.img',
      bytes: text(
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
      ),
      ...script,
    },
    {
      name: 'svg-after-a-generator-comment',
      filename: 'logo.img',
      bytes: text(
        '<!-- Generator: Adobe Illustrator 24.0.0 -->\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      ),
      ...script,
    },
    {
      name: 'svg-after-a-long-xml-prolog',
      filename: 'chart.img',
      bytes: text(
        `<?xml version="1.0"?>\n<!-- ${'licence text '.repeat(400)} -->\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`,
      ),
      ...script,
    },
    {
      name: 'xhtml-fragment-with-script',
      filename: 'doc.xhtml',
      bytes: text('<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>'),
      ...script,
    },
    {
      name: 'shtml-fragment-with-javascript-url',
      filename: 'index.shtml',
      bytes: text('<a href="javascript:alert(1)">x</a>'),
      ...script,
    },
    {
      // A comment first, then neither a page nor an image.
      name: 'xml-with-a-comment-first-quoting-script',
      filename: 'config.xml',
      bytes: text('<!-- settings -->\n<config><body><script>alert(1)</script></body></config>\n'),
      ...noScript,
    },
    { name: 'plain-svg', filename: 'logo.svg', bytes: text(PLAIN_SVG), ...noScript },
    {
      // XML, but neither a page nor an image: its root is no <html> or <svg>.
      name: 'xml-data-quoting-script',
      filename: 'feed.xml',
      bytes: text('<?xml version="1.0"?>\n<note><body><script>alert(1)</script></body></note>\n'),
      ...noScript,
    },
    {
      name: 'html-with-attribute-value-starting-on',
      filename: 'form.html',
      bytes: text('<!doctype html><form><input name="mode" value="online=yes"></form>'),
      ...noScript,
    },
    {
      name: 'plain-html-mentioning-script',
      filename: 'notes.html',
      bytes: text(PLAIN_HTML),
      ...noScript,
    },
    {
      name: 'javascript-source',
      filename: 'widget.js',
      bytes: text(
        'el.innerHTML = "<script>" + code + "</script>"; link.href = "javascript:void 0";\n',
      ),
      ...noScript,
    },
  ];
}
