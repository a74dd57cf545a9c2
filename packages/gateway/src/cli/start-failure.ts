import type { GatewayConfig } from '../config/types.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './io.js';

/**
 * Why the gateway did not start, in one line; the exit status says whose it is to fix: a
 * configuration the server refused (rules that do not compile) is 78, like the file's own issues.
 */
export function startFailure(error: unknown, config: GatewayConfig, io: CliIo): number {
  const { code, phase, message } = error as { code?: unknown; phase?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (code === 'EADDRINUSE') {
    io.stderr.write(
      `breakwater-gateway: cannot listen on ${config.host}:${config.port}: the port is in use; choose another with --port\n`,
    );
    return EXIT.failure;
  }
  io.stderr.write(`breakwater-gateway: cannot start: ${text}\n`);
  return code === 'BREAKWATER_GATEWAY_START' && phase === 'config' ? EXIT.config : EXIT.failure;
}
