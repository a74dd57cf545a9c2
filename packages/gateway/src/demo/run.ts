import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import type { Logger } from '@breakwater/core';
import { type ClamdEndpoint, findClamd, STANDARD_CLAMD } from '@breakwater/scanbridge';
import { packageRoot } from '../config/package-root.js';
import { startGateway } from '../server/gateway.js';
import { banner } from './banner.js';
import { startPhases } from './conductor.js';
import { CLAMD_ENGINE, demoConfig } from './config.js';
import { portFree, portInUse } from './demo-start.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { FAULTS, type FaultTarget, type PhaseSchedule } from './phases.js';
import { type DemoSettings, demoSettings } from './settings.js';
import { collectSummary, formatSummary } from './summary.js';
import { UploadTally } from './tally.js';
import { Teardown } from './teardown.js';
import { ReactionTimeline } from './timeline.js';
import { startTraffic } from './traffic.js';
import { DEMO_TENANT, demoRelationships, demoUsers, randomToken } from './users.js';

export interface DemoOptions {
  /** Default 127.0.0.1. */
  readonly host: string;
  /** Default 8080. */
  readonly port: number;
  /** False with `--no-traffic`: serve only, no traffic generator and no fault phases. */
  readonly traffic: boolean;
  /** `--duration <s>`: stop by itself after this many seconds and print the summary table. */
  readonly durationSeconds: number | undefined;
  /** Where the demo prints (the terminal). */
  readonly out: Writable;
  /** Ends the demo (SIGINT/SIGTERM): it stops everything it started and prints the summary. */
  readonly signal: AbortSignal;
  /**
   * When the faults run, in ms from when the gateway is up; a field left out keeps its default
   * (the first at 5 000, one every 30 000, each for 8 000). For tests and short runs.
   */
  readonly phases?: Partial<PhaseSchedule> | undefined;
  /** Where to look for a local clamd. Default scanbridge's STANDARD_CLAMD, where its CLI looks. */
  readonly clamd?: readonly string[] | undefined;
  /**
   * Told what the gateway and the SpiceDB server log. Default: errors only, printed to `out`
   * (the terminal shows phases and breaker changes; the dashboard shows the rest).
   */
  readonly logger?: Logger | undefined;
}

const CLAMD_LOOKUP_MS = 1_000;

function proxyTarget(endpoint: ClamdEndpoint): string {
  if ('socketPath' in endpoint) return endpoint.socketPath;
  return endpoint.host.includes(':')
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** Errors only, one line each: what a person at the terminal can act on. */
function terminalLogger(say: (line: string) => void): Logger {
  return {
    info() {},
    warn() {},
    error(fields, message) {
      const error = typeof fields.error === 'string' ? `: ${fields.error}` : '';
      say(`error: ${message}${error}`);
    },
  };
}

/** Resolves after `seconds` (never, without), or at once when `signal` aborts. */
function ended(signal: AbortSignal, seconds: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = seconds === undefined ? undefined : setTimeout(done, seconds * 1_000);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
    if (signal.aborted) done();
  });
}

/** What the run will do, for the end of the banner. */
function plan(settings: DemoSettings, withClamd: boolean): string[] {
  const stop =
    settings.durationSeconds === undefined
      ? 'Ctrl-C stops it and prints the summary.'
      : `It stops after ${settings.durationSeconds} s (or on Ctrl-C) and prints the summary.`;
  if (!settings.traffic) return ['Serving only (--no-traffic): no traffic, no faults.', stop];
  const { firstFaultMs, everyMs, faultMs } = settings.phases;
  const faults = FAULTS.filter((fault) => withClamd || fault.target !== 'clamd');
  return [
    'Traffic: alice, rita and mallory upload clean files, EICAR, programs named as documents and pages with script, 4 a second; nina joins them at the first fault.',
    `Faults: the first at ${firstFaultMs / 1_000} s, then one every ${everyMs / 1_000} s, each for ${faultMs / 1_000} s, in turn: ${faults.map((fault) => fault.title).join('; ')}.`,
    'Each phase and each breaker change is printed below, with the time since the gateway came up.',
    stop,
  ];
}

/**
 * `npm start`: the gateway on `host:port` with an embedded SpiceDB (loaded with the shipped
 * schema, tenant `demo` and its users) and the YARA engine, plus clamd when one answers locally,
 * SpiceDB and clamd each behind a fault proxy; then traffic and scripted faults, every phase and
 * breaker change printed, until `durationSeconds` or `signal`; then the summary table. Everything
 * it started is stopped and its temporary directory removed before it resolves: 0, or 1 when
 * something could not start (said on `out`).
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const settings = demoSettings(options);
  const { out, signal } = settings;
  let origin: number | undefined;
  const elapsed = (): number => (origin === undefined ? 0 : performance.now() - origin);
  const say = (line: string): void => {
    const at = origin === undefined ? '' : `[${(elapsed() / 1_000).toFixed(1).padStart(5)}s] `;
    out.write(`${at}${line}\n`);
  };
  const logger = settings.logger ?? terminalLogger(say);
  const teardown = new Teardown();
  let stage = `the gateway on ${settings.host}:${settings.port}`;
  let created: string | undefined;
  try {
    await portFree(settings.host, settings.port);

    stage = 'a private temporary directory';
    const dir = await mkdtemp(join(tmpdir(), 'breakwater-demo-'));
    created = dir;
    teardown.add(`removing ${dir}`, () => rm(dir, { recursive: true, force: true }));

    stage = 'the embedded SpiceDB';
    say('Starting the embedded SpiceDB...');
    const users = demoUsers();
    const schema = await readFile(resolve(packageRoot().dir, 'schema', 'schema.zed'), 'utf8');
    const spicedb = await startEmbeddedSpiceDb({
      schema,
      relationships: demoRelationships(users),
      logger,
      signal,
    });
    teardown.add(`the embedded SpiceDB (pid ${spicedb.pid})`, () => spicedb.close());
    const spicedbProxy = await startFaultProxy({ target: spicedb.endpoint });
    teardown.add('the SpiceDB fault proxy', () => spicedbProxy.close());

    stage = 'the fault proxy in front of clamd';
    const clamd = await findClamd({ timeoutMs: CLAMD_LOOKUP_MS, candidates: settings.clamd });
    const clamdWhere = clamd === undefined ? undefined : proxyTarget(clamd);
    let clamdProxy: FaultProxy | undefined;
    if (clamdWhere !== undefined) {
      const proxy = await startFaultProxy({ target: clamdWhere });
      teardown.add('the clamd fault proxy', () => proxy.close());
      clamdProxy = proxy;
    }

    stage = `the gateway on ${settings.host}:${settings.port}`;
    const dashboardToken = randomToken();
    const config = demoConfig({
      host: settings.host,
      port: settings.port,
      spicedbEndpoint: spicedbProxy.endpoint,
      spicedbToken: spicedb.token,
      clamdEndpoint: clamdProxy?.endpoint,
      users,
      dashboardToken,
      dir,
    });
    signal.throwIfAborted();
    say('Starting the gateway...');
    const gateway = await startGateway(config, { logger }).catch((error: unknown) => {
      throw portInUse(error, settings.host, settings.port) ?? error;
    });
    teardown.add('the gateway', () => gateway.close());

    const timeline = new ReactionTimeline();
    origin = performance.now();
    teardown.add(
      'watching the breakers',
      gateway.registry.on('stateChange', ({ breaker, from, to, reason }) => {
        timeline.stateChanged(breaker, to, elapsed());
        say(`breaker ${breaker}: ${from} -> ${to} (${reason})`);
      }),
    );

    out.write(
      banner({
        url: gateway.url,
        dashboardToken,
        users,
        engines: [
          'yara (the shipped rules)',
          ...(clamdProxy === undefined
            ? []
            : [`${CLAMD_ENGINE} (clamd, through a fault proxy at ${clamdProxy.endpoint})`]),
        ],
        clamd:
          clamdWhere === undefined
            ? `clamd: not found at ${(settings.clamd ?? STANDARD_CLAMD).join(', ')} — scanning with YARA only`
            : `clamd: found at ${clamdWhere}`,
        spicedb: `embedded (pid ${spicedb.pid}) at ${spicedb.endpoint}, through a fault proxy at ${spicedbProxy.endpoint}`,
        quarantineDir: config.quarantine.dir,
        plan: plan(settings, clamdProxy !== undefined),
      }),
    );

    const tally = new UploadTally();
    for (const user of users) if (user.uploads !== 'never') tally.add(user.name);
    let quiet = (): Promise<void> => Promise.resolve();
    if (settings.traffic) {
      const traffic = startTraffic({
        url: gateway.url,
        tenant: DEMO_TENANT,
        users: users.filter((user) => user.uploads === 'from-start'),
        tally,
      });
      const latecomers = users.filter((user) => user.uploads === 'from-first-fault');
      const proxies: Partial<Record<FaultTarget, FaultProxy>> = { spicedb: spicedbProxy };
      if (clamdProxy !== undefined) proxies.clamd = clamdProxy;
      const conductor = startPhases({
        schedule: settings.phases,
        faults: FAULTS.filter((fault) => proxies[fault.target] !== undefined),
        proxies,
        breakers: { spicedb: 'spicedb', clamd: CLAMD_ENGINE },
        timeline,
        elapsed,
        say,
        onPhase: (phase) => {
          if (phase.kind !== 'fault' || phase.number !== 1) return;
          for (const user of latecomers) {
            say(`${user.name} starts uploading: SpiceDB has never answered for her`);
            traffic.add(user);
          }
        },
      });
      let quieted: Promise<void> | undefined;
      quiet = () => {
        quieted ??= conductor.stop().then(() => traffic.stop());
        return quieted;
      };
      // Stopped before the proxies and the gateway: nothing is sent into a closing gateway.
      teardown.add('the traffic and the fault phases', quiet);
    }

    stage = 'the demo';
    await ended(signal, settings.durationSeconds);
    say(signal.aborted ? 'Stopping...' : `Stopping after ${settings.durationSeconds} s...`);
    await quiet();
    const summary = collectSummary({
      registry: gateway.registry,
      users,
      tally,
      timeline,
      elapsedMs: elapsed(),
    });
    out.write(`\n${formatSummary(summary)}\n`);
    await teardown.run(say);
    out.write(
      `Stopped the gateway, the fault proxies and SpiceDB (pid ${spicedb.pid}); removed ${dir}.\n`,
    );
    return 0;
  } catch (error) {
    const code = signal.aborted ? 0 : 1;
    say(
      signal.aborted
        ? 'Stopping before the demo was up...'
        : `breakwater-gateway demo: could not start ${stage}: ${(error as Error).message}`,
    );
    await teardown.run(say);
    if (created !== undefined) say(`Stopped what had started; removed ${created}.`);
    return code;
  } finally {
    // Already done on every path, unless writing to `out` failed half-way.
    await teardown.run(say);
  }
}
