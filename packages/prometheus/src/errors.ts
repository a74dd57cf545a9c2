/**
 * A collector asked to register a metric name the register already holds: another collector of
 * the same kind, not closed, or a metric of the application's own under that name.
 */
export class MetricNameTakenError extends Error {
  readonly code = 'BREAKWATER_METRIC_NAME_TAKEN';
  /** The metric name that is taken. */
  readonly metric: string;

  constructor(owner: string, metric: string) {
    super(
      `${owner}: the register already has a metric called "${metric}"; close() the collector that registered it, or give this one another "prefix" or "register"`,
    );
    this.metric = metric;
  }
}
MetricNameTakenError.prototype.name = 'MetricNameTakenError';
