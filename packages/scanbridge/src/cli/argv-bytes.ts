import { readFileSync } from 'node:fs';
import { SetupError } from './setup-error.js';

const NUL = 0x00;
const REPLACEMENT = '\ufffd';

/**
 * The process's own arguments as the bytes it was given, when they can be had: Node decodes
 * argv as UTF-8, so a name that is not valid UTF-8 (`report\xff.txt`) reaches process.argv as
 * `report\ufffd.txt`, which opens another file or none. On Linux /proc/self/cmdline still has
 * the bytes; they are used only where they line up with `args` (its last entries, each
 * decoding to the argument Node made of it), so node's own flags, or a rewritten process
 * title, can never shift a path onto another argument. Undefined where there is no such
 * file or it does not line up.
 */
export function argvBytes(
  args: readonly string[],
  cmdline: Buffer | undefined = readCmdline(),
): Buffer[] | undefined {
  if (cmdline === undefined) return undefined;
  const all = splitOnNul(cmdline);
  if (all.length < args.length) return undefined;
  const tail = all.slice(all.length - args.length);
  return tail.every((bytes, i) => bytes.toString('utf8') === args[i]) ? tail : undefined;
}

/**
 * The arguments as bytes when nothing better is known: each as UTF-8, except that one with a
 * replacement character is refused, since it may stand for bytes that were lost in decoding.
 * Not a usage mistake (the command line may be right), so without the usage hint.
 */
export function utf8Bytes(args: readonly string[]): Buffer[] {
  return args.map((arg) => {
    if (arg.includes(REPLACEMENT)) {
      throw new SetupError(
        `scanbridge could not get this argument's bytes: ${JSON.stringify(arg)} has U+FFFD, which stands for bytes that are not valid UTF-8, so it may name another file; pass its directory instead (a name that really contains U+FFFD is refused the same way)`,
      );
    }
    return Buffer.from(arg);
  });
}

function readCmdline(): Buffer | undefined {
  try {
    return readFileSync('/proc/self/cmdline');
  } catch {
    return undefined;
  }
}

/** NUL-terminated entries; a last one without its NUL (a longer process title) counts too. */
function splitOnNul(bytes: Buffer): Buffer[] {
  const entries: Buffer[] = [];
  let start = 0;
  for (let end = bytes.indexOf(NUL); end !== -1; end = bytes.indexOf(NUL, start)) {
    entries.push(bytes.subarray(start, end));
    start = end + 1;
  }
  if (start < bytes.length) entries.push(bytes.subarray(start));
  return entries;
}
