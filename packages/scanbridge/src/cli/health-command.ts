import { withCircuitBreaker } from '../breaker-scanner.js';
import { type ScanError, toScanError } from '../errors.js';
import { planEngines } from './engines.js';
import type { Io } from './io.js';
import { table } from './render.js';
import { EXIT, type Flags } from './usage.js';

const FAILURE_THRESHOLD = 3;

/**
 * `scanbridge health`: pings each engine through a breaker like the one `scan` uses, up to
 * its failure threshold, and prints what the engine said and where that left the breaker: a
 * dead engine shows `open`, a flaky one `closed` with its failures. All within about
 * `--timeout` per engine: no ping starts after it, and each ping has at most that long, so
 * an engine that never answers costs one timeout, not three. Exit 0 when every engine
 * answered, 2 otherwise.
 */
export async function healthCommand(flags: Flags, io: Io): Promise<number> {
  const engines = await planEngines(flags, io.env)();
  const checks = await Promise.all(
    engines.map(async ({ probe: scanner, where }) => {
      const deadline = Date.now() + flags.timeout;
      const guarded = withCircuitBreaker(scanner, {
        failureThreshold: FAILURE_THRESHOLD,
        openDuration: 30_000,
      });
      let error: ScanError | undefined;
      for (let attempt = 0; attempt < FAILURE_THRESHOLD; attempt++) {
        error = await guarded.breaker
          .execute(() => scanner.healthCheck())
          .then(
            () => undefined,
            (e: unknown) => toScanError(e, scanner.name),
          );
        if (error === undefined || Date.now() >= deadline) break;
      }
      const state = guarded.breaker.state();
      const failures = state.name === 'closed' ? state.failureCount : undefined;
      return {
        engine: scanner.name,
        where,
        status: error === undefined ? 'up' : 'down',
        ...(error === undefined ? {} : { error }),
        breaker: state.name,
        ...(failures === undefined || failures === 0 ? {} : { failures }),
      };
    }),
  );
  const down = checks.some((check) => check.status === 'down');
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify({ engines: checks, exitCode: down ? 2 : 0 }, null, 2)}\n`);
  } else {
    io.stdout.write(
      table(
        ['ENGINE', 'STATUS', 'BREAKER', 'DETAIL'],
        checks.map((c) => [
          c.engine,
          c.status,
          c.failures === undefined
            ? c.breaker
            : `${c.breaker} (${c.failures} of ${FAILURE_THRESHOLD} failures)`,
          c.error === undefined ? c.where : `${c.where}: ${c.error.kind}: ${c.error.message}`,
        ]),
      ),
    );
  }
  return down ? EXIT.error : EXIT.allowed;
}
