import { runDemo } from '../demo/run.js';
import { EXIT } from './exit-codes.js';
import { type CliIo, onStop, STOP_SIGNALS } from './io.js';
import type { Command } from './parse-args.js';

/** `demo`: runDemo until it ends by itself (`--duration`) or a signal ends it; its code is ours. */
export async function demoCommand(command: Command & { name: 'demo' }, io: CliIo): Promise<number> {
  const controller = new AbortController();
  const remove = onStop(io, STOP_SIGNALS, () => controller.abort(), EXIT.interrupted);
  try {
    return await runDemo({
      host: command.host,
      port: command.port,
      traffic: command.traffic,
      durationSeconds: command.durationSeconds,
      out: io.stdout,
      signal: controller.signal,
    });
  } catch (error) {
    io.stderr.write(`breakwater-gateway demo: ${(error as Error).message}\n`);
    return EXIT.failure;
  } finally {
    remove();
  }
}
