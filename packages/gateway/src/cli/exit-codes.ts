/** The command's exit statuses (sysexits.h for the configuration). */
export const EXIT = {
  ok: 0,
  /** Could not start, or failed while running. */
  failure: 1,
  usage: 2,
  /** EX_CONFIG: the configuration cannot be used. */
  config: 78,
  /** A second SIGINT/SIGTERM while stopping: at once, as a shell reports an interrupted command. */
  interrupted: 130,
} as const;
