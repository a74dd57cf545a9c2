import { ConfigError } from '../config/config-error.js';
import { packageRoot } from '../config/package-root.js';
import { EXIT } from './exit-codes.js';
import { hashTokenCommand } from './hash-token-command.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';
import { parseCommand } from './parse-args.js';
import { UsageError } from './usage-error.js';

/** The whole command line, in-process: resolves with the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const command = parseCommand(argv);
    switch (command.name) {
      case 'help':
        io.stdout.write(HELP);
        return EXIT.ok;
      case 'version':
        io.stdout.write(`breakwater-gateway ${packageRoot().version}\n`);
        return EXIT.ok;
      case 'hash-token':
        return await hashTokenCommand(io);
      // Loaded only when asked for: --help and hash-token need none of the server.
      case 'serve':
        return await (await import('./serve-command.js')).serveCommand(command, io);
      case 'demo':
        return await (await import('./demo-command.js')).demoCommand(command, io);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`breakwater-gateway: ${error.message}; see breakwater-gateway --help\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      const count = error.issues.length;
      io.stderr.write(
        `${error.message}\nbreakwater-gateway: ${count} ${count === 1 ? 'problem' : 'problems'} in the configuration; nothing was started\n`,
      );
      return EXIT.config;
    }
    throw error;
  }
}
