import type { EmbeddedSpiceDb } from '../src/embedded/index.js';
import { AuthorizationService } from '../src/service.js';
import type { AuthorizationServiceOptions } from '../src/service-options.js';
import { SpiceDbChecker } from '../src/spicedb-checker.js';
import type { PermissionChecker } from '../src/types.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { startTrafficMeter, type TrafficMeter } from './traffic-meter.js';

export interface StackOptions extends Omit<AuthorizationServiceOptions, 'checker'> {
  /** The token the checker sends; the server's own by default. */
  token?: string;
  /** Puts something between the real checker and the service (a call counter, a chaos layer). */
  wrap?: (checker: SpiceDbChecker) => PermissionChecker;
  /**
   * Connect before the first check (a health call straight to the checker, with its own 2 s
   * deadline), so no test's first check pays for the connection against a short breaker limit.
   * Default true; false leaves the proxy untouched.
   */
  connect?: boolean;
}

/**
 * The whole path a production check takes: AuthorizationService -> SpiceDbChecker (the real
 * @authzed/authzed-node client) -> the fault proxy -> a traffic meter -> the SpiceDB server. The
 * meter sits behind the proxy so a killed proxy refuses connections as a dead server would.
 */
export interface RealStack {
  readonly proxy: FaultProxy;
  readonly meter: TrafficMeter;
  readonly checker: SpiceDbChecker;
  readonly service: AuthorizationService;
  /** Connections the proxy accepted and bytes that reached the server or came back. */
  traffic(): { connections: number; bytes: number };
  close(): Promise<void>;
}

export async function startStack(
  server: EmbeddedSpiceDb,
  options: StackOptions = {},
): Promise<RealStack> {
  const { token = server.token, wrap, connect = true, ...serviceOptions } = options;
  const meter = await startTrafficMeter({ target: server.endpoint });
  const proxy = await startFaultProxy({ target: meter.endpoint });
  const checker = new SpiceDbChecker({ endpoint: proxy.endpoint, token, insecure: true });
  // A refused token still connects: its health call fails, and that is the test's to look at.
  if (connect) await checker.health(new AbortController().signal).catch(() => {});
  const service = new AuthorizationService({
    ...serviceOptions,
    checker: wrap === undefined ? checker : wrap(checker),
  });
  return {
    proxy,
    meter,
    checker,
    service,
    traffic: () => ({ connections: proxy.connections, bytes: meter.bytesIn + meter.bytesOut }),
    async close() {
      service.close();
      checker.close();
      await proxy.close();
      await meter.close();
    },
  };
}

/**
 * Short breaker timings: the guide's 60 s open period would make every fault test a minute long.
 * The timeout stays long enough that a real answer from a server sharing two loaded cores with
 * the rest of the suite is never taken for a fault (200 ms was not, under load).
 */
export const FAST_BREAKER = Object.freeze({ openDuration: 300, jitter: 0, timeout: 1_000 });

/** Resolves after `ms` (tests keep it at 50 ms or less). */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `done` every 20 ms (running `step` before each look, when given) until it holds or
 * `withinMs` passes; true if it came to hold.
 */
export async function eventually(
  done: () => boolean,
  withinMs: number,
  step?: () => Promise<void>,
): Promise<boolean> {
  const until = performance.now() + withinMs;
  for (;;) {
    await step?.();
    if (done()) return true;
    if (performance.now() > until) return false;
    await sleep(20);
  }
}
