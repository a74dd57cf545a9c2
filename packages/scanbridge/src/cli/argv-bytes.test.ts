import { describe, expect, it } from 'vitest';
import { argvBytes, utf8Bytes } from './argv-bytes.js';
import { SetupError } from './setup-error.js';

const cmdline = (...args: (string | number[])[]): Buffer =>
  Buffer.concat(args.map((a) => Buffer.concat([Buffer.from(a as string), Buffer.of(0)])));

describe('argvBytes', () => {
  it("takes the arguments' own bytes from the end of the command line, after node's flags", () => {
    const line = cmdline('node', '--no-warnings', '/bin/scanbridge', 'scan', [0x61, 0xff], '');
    expect(argvBytes(['scan', 'a\ufffd', ''], line)).toEqual([
      Buffer.from('scan'),
      Buffer.of(0x61, 0xff),
      Buffer.alloc(0),
    ]);
  });

  it('gives nothing when the command line does not line up with the arguments', () => {
    // A rewritten process title, or no /proc.
    expect(argvBytes(['scan', 'x'], cmdline('scanbridge worker'))).toBeUndefined();
    expect(argvBytes(['scan', 'x'], cmdline('node', 'bin', 'scan', 'y'))).toBeUndefined();
    expect(argvBytes(['scan', 'x'], undefined)).toBeUndefined();
  });
});

describe('utf8Bytes', () => {
  it('encodes arguments as UTF-8, and refuses one whose bytes may have been lost', () => {
    expect(utf8Bytes(['scan', 'отчёт.txt'])).toEqual([
      Buffer.from('scan'),
      Buffer.from('отчёт.txt'),
    ]);
    expect(() => utf8Bytes(['scan', 'report\ufffd.txt'])).toThrow(SetupError);
    expect(() => utf8Bytes(['scan', 'report\ufffd.txt'])).toThrow(/pass its directory instead/);
  });
});
