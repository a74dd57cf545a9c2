import { loadConfig } from '../config/load-config.js';
import { startGateway } from '../server/gateway.js';
import { jsonLinesLogger } from '../server/json-logger.js';
import { EXIT } from './exit-codes.js';
import { type CliIo, onStop, STOP_SIGNALS } from './io.js';
import type { Command } from './parse-args.js';
import { startFailure } from './start-failure.js';

/**
 * `serve`: the configuration (flags over the file), the gateway started, one line saying where
 * it listens; then it serves until SIGINT, SIGTERM or SIGHUP, closes, and exits 0. A second signal
 * while it closes exits at once.
 */
export async function serveCommand(
  command: Command & { name: 'serve' },
  io: CliIo,
): Promise<number> {
  // A ConfigError goes up to runCli, which prints every issue.
  const config = await loadConfig(command.config, io.env, {
    overrides: command.overrides,
    cwd: io.cwd,
  });
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  // Listening from the start: a signal while the gateway starts closes it once it is up,
  // rather than killing the process half-way through.
  const remove = onStop(io, STOP_SIGNALS, stop, EXIT.interrupted);
  try {
    let gateway: Awaited<ReturnType<typeof startGateway>>;
    try {
      // The gateway's log is the command's stderr: JSON lines, as log shippers read them.
      const logger = jsonLinesLogger((line) => io.stderr.write(line));
      gateway = await startGateway(config, { logger });
    } catch (error) {
      return startFailure(error, config, io);
    }
    try {
      io.stdout.write(`breakwater-gateway listening on ${gateway.url}\n`);
      await stopped;
      io.stderr.write('breakwater-gateway: stopping (a second signal exits at once)\n');
      await gateway.close();
      return EXIT.ok;
    } catch (error) {
      io.stderr.write(`breakwater-gateway: could not close cleanly: ${(error as Error).message}\n`);
      return EXIT.failure;
    }
  } finally {
    remove();
  }
}
