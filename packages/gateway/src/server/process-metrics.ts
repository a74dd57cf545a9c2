import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';

// prom-client's gauges that end in `_total`, which Prometheus keeps for counters: `promtool check
// metrics` refuses the whole page over them. Everything else of its defaults is kept.
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

let shared: readonly Metric[] | undefined;

/**
 * prom-client's `process_*` and `nodejs_*` metrics, made once per process. Its GC metric starts a
 * PerformanceObserver and its event-loop metric an enabled delay histogram, and nothing can stop
 * either (v15's collectDefaultMetrics returns nothing): made per gateway, every gateway's register
 * stayed reachable from them after close(). Made once, they describe the one process all the
 * gateways in it share, and a gateway's register holds them without being held by them.
 */
export function processMetrics(): readonly Metric[] {
  if (shared === undefined) {
    const register = new Registry();
    collectDefaultMetrics({ register });
    for (const name of MISNAMED_DEFAULTS) register.removeSingleMetric(name);
    shared = register
      .getMetricsAsArray()
      .map(({ name }) => register.getSingleMetric(name))
      .filter((metric) => metric !== undefined);
  }
  return shared;
}
