import { randomBytes, randomInt } from 'node:crypto';

/** One file the traffic generator uploads. */
export interface Sample {
  readonly filename: string;
  readonly bytes: Buffer;
  /** What the shipped rules make of it, for the reader of this file: not asserted at runtime. */
  readonly kind: 'clean' | 'eicar' | 'executable-as-document' | 'script';
}

/**
 * The EICAR test file, put together here so that no file of the repository is one: a scanner
 * on a developer's machine would quarantine the checkout.
 */
export function eicar(): Buffer {
  return Buffer.from(
    ['X5O!P%@AP[4\\PZX54(P^)7CC)7}', '$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(''),
    'latin1',
  );
}

const WORDS = ['invoice', 'quarterly', 'report', 'shipment', 'meeting', 'budget', 'draft', 'notes'];
const TEXT_SIZES = [512, 8 * 1024, 64 * 1024];
const BINARY_SIZES = [4 * 1024, 32 * 1024];

function text(size: number): Buffer {
  const words: string[] = [];
  for (let length = 0; length < size; ) {
    const word = pick(WORDS);
    words.push(word);
    length += word.length + 1;
  }
  return Buffer.from(words.join(' ').slice(0, size));
}

/** A Linux program's first bytes (ELF, 64-bit, little-endian) under a document's name. */
function elf(): Buffer {
  const bytes = Buffer.alloc(512);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01]).copy(bytes);
  return bytes;
}

/** A Windows program's headers: "MZ", e_lfanew at 0x3C pointing at "PE\0\0". */
function pe(): Buffer {
  const bytes = Buffer.alloc(512);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'latin1');
  return bytes;
}

const PAGE_WITH_SCRIPT =
  '<!doctype html>\n<html><body><p>Hello</p><script>fetch("/steal?c=" + document.cookie)</script></body></html>\n';
const SVG_WITH_HANDLER =
  '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><rect width="10" height="10"/></svg>\n';
const PLAIN_PAGE =
  '<!doctype html>\n<html><body><p>The script of the play is attached.</p></body></html>\n';

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)] as T;
}

/** What the traffic uploads, each kind with its share in 100: seven in ten are clean. */
const MIX: readonly { readonly weight: number; readonly make: (n: number) => Sample }[] = [
  {
    weight: 45,
    make: (n) => ({ filename: `notes-${n}.txt`, bytes: text(pick(TEXT_SIZES)), kind: 'clean' }),
  },
  {
    weight: 20,
    make: (n) => ({
      filename: `data-${n}.bin`,
      bytes: randomBytes(pick(BINARY_SIZES)),
      kind: 'clean',
    }),
  },
  {
    weight: 5,
    make: (n) => ({ filename: `page-${n}.html`, bytes: Buffer.from(PLAIN_PAGE), kind: 'clean' }),
  },
  { weight: 10, make: (n) => ({ filename: `eicar-${n}.com`, bytes: eicar(), kind: 'eicar' }) },
  {
    weight: 4,
    make: (n) => ({ filename: `invoice-${n}.pdf`, bytes: pe(), kind: 'executable-as-document' }),
  },
  {
    weight: 4,
    make: (n) => ({ filename: `photo-${n}.jpg`, bytes: elf(), kind: 'executable-as-document' }),
  },
  {
    weight: 6,
    make: (n) => ({
      filename: `comment-${n}.html`,
      bytes: Buffer.from(PAGE_WITH_SCRIPT),
      kind: 'script',
    }),
  },
  {
    weight: 6,
    make: (n) => ({
      filename: `logo-${n}.svg`,
      bytes: Buffer.from(SVG_WITH_HANDLER),
      kind: 'script',
    }),
  },
];
const TOTAL_WEIGHT = MIX.reduce((sum, entry) => sum + entry.weight, 0);

/**
 * The next file to upload, at random: mostly clean files (text and binary of a few sizes, an
 * HTML page without script), and now and then EICAR, a program under a document's name or a
 * page with script, so that every decision of the policy shows up.
 */
export function nextSample(): Sample {
  let roll = randomInt(TOTAL_WEIGHT);
  const n = randomInt(1_000);
  for (const entry of MIX) {
    if (roll < entry.weight) return entry.make(n);
    roll -= entry.weight;
  }
  throw new Error('nextSample: the roll fell outside the mix');
}
