import type { Logger } from '@breakwater/core';

/** The code of the process warning for a failure when the dashboard has no logger. */
export const DASHBOARD_ERROR_WARNING = 'BREAKWATER_DASHBOARD_ERROR';

/**
 * Says that something inside the dashboard failed (a stats source threw): to the logger, or as
 * a process warning. Never thrown on: a dashboard must not take its service down.
 */
export function reportFailure(logger: Logger | undefined, error: unknown, message: string): void {
  if (logger === undefined) {
    process.emitWarning(`${message}: ${String(error)}`, { code: DASHBOARD_ERROR_WARNING });
    return;
  }
  try {
    logger.error({ err: error }, message);
  } catch {
    process.emitWarning(`${message}: ${String(error)} (and the logger threw)`, {
      code: DASHBOARD_ERROR_WARNING,
    });
  }
}
