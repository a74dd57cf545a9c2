import { toScanError } from '../errors.js';
import { utf8Bytes } from './argv-bytes.js';
import { PathError } from './files.js';
import { inFlagTerms } from './flag-wording.js';
import { healthCommand } from './health-command.js';
import { USAGE } from './help.js';
import type { Io } from './io.js';
import { printable } from './render.js';
import { scanCommand } from './scan-command.js';
import { SetupError } from './setup-error.js';
import { EXIT, parseCommand } from './usage.js';
import { UsageError } from './usage-error.js';
import { packageVersion } from './version.js';

/** The whole command line, in-process: returns the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  try {
    const command = parseCommand(argv, io.argvBytes ?? utf8Bytes(argv));
    switch (command.name) {
      case 'help':
        io.stdout.write(command.text);
        return EXIT.allowed;
      case 'version':
        io.stdout.write(`scanbridge ${packageVersion()}\n`);
        return EXIT.allowed;
      case 'usage':
        io.stderr.write(`${USAGE}Run "scanbridge --help" for the options.\n`);
        return EXIT.error;
      case 'scan':
        return await scanCommand(command.paths, command.flags, io);
      case 'health':
        return await healthCommand(command.flags, io);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof PathError || error instanceof SetupError) {
      io.stderr.write(`scanbridge: ${printable(inFlagTerms(error.message))}\n`);
      if (error instanceof UsageError) io.stderr.write('Run "scanbridge --help" for usage.\n');
    } else {
      // Not a verdict and not a usage mistake: say what broke, and never exit 0.
      const scanError = toScanError(error);
      io.stderr.write(
        `scanbridge: ${scanError.kind}: ${printable(inFlagTerms(scanError.message))}\n`,
      );
    }
    return EXIT.error;
  }
}
