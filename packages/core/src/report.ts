import type { Logger } from './options.js';

/**
 * Logging that cannot hurt the breaker: a logger that throws mid-transition would
 * otherwise leave the state half-changed or a call unsettled.
 */
export function log(
  logger: Logger | undefined,
  level: 'info' | 'warn' | 'error',
  fields: Record<string, unknown>,
  message: string,
): void {
  if (logger === undefined) return;
  try {
    logger[level](fields, message);
  } catch (loggerError) {
    console.error(`breakwater: the logger threw while logging "${message}"`, loggerError);
  }
}

/** A user callback (listener, policy, openDuration) misbehaved: say so, never hide it. */
export function reportProblem(
  logger: Logger | undefined,
  breaker: string,
  error: unknown,
  message: string,
): void {
  if (logger === undefined) console.error(`circuit breaker "${breaker}": ${message}`, error);
  else log(logger, 'error', { breaker, err: error }, message);
}
