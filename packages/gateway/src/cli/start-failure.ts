import { ScanError } from '@breakwater/scanbridge';
import type { GatewayConfig } from '../config/types.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './io.js';

interface StartErrorShape {
  readonly code?: unknown;
  readonly phase?: unknown;
  readonly cause?: unknown;
}

/**
 * Why the gateway did not start, in one line; the exit status says whose it is to fix: what
 * the server refused in the configuration (rules that do not compile) is 78, like the file's
 * own issues, anything else 1.
 */
export function startFailure(error: unknown, config: GatewayConfig, io: CliIo): number {
  const { phase, cause } = error as StartErrorShape;
  if ((cause as StartErrorShape | undefined)?.code === 'EADDRINUSE') {
    io.stderr.write(
      `breakwater-gateway: cannot listen on ${config.host}:${config.port}: the port is in use; choose another with --port (or "port" in the configuration)\n`,
    );
    return EXIT.failure;
  }
  io.stderr.write(`breakwater-gateway: cannot start: ${(error as Error).message}\n`);
  const configuration =
    phase === 'config' || (cause instanceof ScanError && cause.kind === 'configuration');
  return configuration ? EXIT.config : EXIT.failure;
}
