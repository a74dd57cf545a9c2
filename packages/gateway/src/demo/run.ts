import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Logger } from '@breakwater/core';
import { STANDARD_CLAMD } from '@breakwater/scanbridge';
import { banner } from './banner.js';
import { BreakerCounts } from './breaker-counts.js';
import { startPhases } from './conductor.js';
import { CLAMD_ENGINE } from './config.js';
import { portFree, step } from './demo-start.js';
import type { FaultProxy } from './fault-proxy.js';
import { FAULTS, type FaultTarget, type PhaseSchedule } from './phases.js';
import { type DemoSettings, demoSettings } from './settings.js';
import { type DemoStack, startStack } from './stack.js';
import { collectSummary, formatSummary } from './summary.js';
import { UploadTally } from './tally.js';
import { Teardown } from './teardown.js';
import { ReactionTimeline } from './timeline.js';
import { startTraffic, UPLOADS_PER_SECOND } from './traffic.js';
import { DEMO_TENANT } from './users.js';

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
    `Traffic: alice, rita and mallory upload clean files, EICAR, programs named as documents and pages with script, ${UPLOADS_PER_SECOND} a second; nina joins them at the first fault.`,
    `Faults: the first at ${firstFaultMs / 1_000} s, then one every ${everyMs / 1_000} s, each for ${faultMs / 1_000} s, in turn: ${faults.map((fault) => fault.title).join('; ')}.`,
    'Each phase and each breaker change is printed below, with the time since the gateway came up.',
    stop,
  ];
}

/** What the terminal shows once the stack is up. */
function bannerOf(stack: DemoStack, settings: DemoSettings): string {
  const { gateway, spicedb, spicedbProxy, clamdAt, clamdProxy } = stack;
  return banner({
    url: gateway.url,
    dashboardToken: stack.dashboardToken,
    users: stack.users,
    engines: [
      'yara (the shipped rules)',
      ...(clamdProxy === undefined
        ? []
        : [`${CLAMD_ENGINE} (clamd, through a fault proxy at ${clamdProxy.endpoint})`]),
    ],
    clamd:
      clamdAt === undefined
        ? `clamd: not found at ${(settings.clamd ?? STANDARD_CLAMD).join(', ')} — scanning with YARA only`
        : `clamd: found at ${clamdAt}`,
    spicedb: `embedded (pid ${spicedb.pid}) at ${spicedb.endpoint}, through a fault proxy at ${spicedbProxy.endpoint}`,
    quarantineDir: stack.config.quarantine.dir,
    plan: plan(settings, clamdProxy !== undefined),
  });
}

/**
 * The traffic and the fault script, until the returned function stops them (and waits for
 * what is in flight); nina joins the traffic at the first fault.
 */
function startShow(
  stack: DemoStack,
  settings: DemoSettings,
  tally: UploadTally,
  timeline: ReactionTimeline,
  elapsed: () => number,
  say: (line: string) => void,
): () => Promise<void> {
  const { users, gateway, spicedbProxy, clamdProxy } = stack;
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
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= conductor.stop().then(() => traffic.stop());
    return stopped;
  };
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
  let dir: string | undefined;
  try {
    // Said before SpiceDB is started for nothing.
    await step(`the gateway on ${settings.host}:${settings.port}`, () =>
      portFree(settings.host, settings.port),
    );
    const created = await step('a private temporary directory', () =>
      mkdtemp(join(tmpdir(), 'breakwater-demo-')),
    );
    dir = created;
    // A second Ctrl-C ends the process before the teardown runs: the directory goes anyway.
    // (The SpiceDB server stops by itself once its parent is gone.)
    const removeAtExit = (): void => rmSync(created, { recursive: true, force: true });
    process.once('exit', removeAtExit);
    teardown.add(`removing ${created}`, async () => {
      process.off('exit', removeAtExit);
      await rm(created, { recursive: true, force: true });
    });
    const stack = await startStack({ settings, dir, logger, teardown, say });

    const timeline = new ReactionTimeline();
    const counts = new BreakerCounts(stack.gateway.registry);
    teardown.add('counting the breakers', () => counts.close());
    origin = performance.now();
    teardown.add(
      'watching the breakers',
      stack.gateway.registry.on('stateChange', ({ breaker, from, to, reason }) => {
        timeline.stateChanged(breaker, to, elapsed());
        say(`breaker ${breaker}: ${from} -> ${to} (${reason})`);
      }),
    );
    out.write(bannerOf(stack, settings));
    const tally = new UploadTally();
    for (const user of stack.users) if (user.uploads !== 'never') tally.add(user.name);
    let stopShow = (): Promise<void> => Promise.resolve();
    if (settings.traffic) {
      stopShow = startShow(stack, settings, tally, timeline, elapsed, say);
      // Stopped before the proxies and the gateway: nothing is sent into a closing gateway.
      teardown.add('the traffic and the fault phases', stopShow);
    }

    await ended(signal, settings.durationSeconds);
    say(signal.aborted ? 'Stopping...' : `Stopping after ${settings.durationSeconds} s...`);
    // The gateway's close waits for them (up to its grace): said, so that the quiet is not
    // taken for a hang.
    const uploads = stack.gateway.inFlight();
    if (uploads > 0) {
      say(
        `stopping: waiting for ${uploads} upload${uploads === 1 ? '' : 's'} in flight (Ctrl-C again, a second from now or later, to quit at once)`,
      );
    }
    await stopShow();
    const summary = collectSummary({
      registry: stack.gateway.registry,
      counts,
      authorization: stack.gateway.authorization.stats(),
      users: stack.users,
      tally,
      timeline,
      elapsedMs: elapsed(),
    });
    out.write(`\n${formatSummary(summary)}\n`);
    await teardown.run(say);
    out.write(
      `Stopped the gateway, the fault proxies and SpiceDB (pid ${stack.spicedb.pid}); removed ${dir}.\n`,
    );
    return 0;
  } catch (error) {
    say(
      signal.aborted
        ? 'Stopping before the demo was up...'
        : `breakwater-gateway demo: ${(error as Error).message}`,
    );
    await teardown.run(say);
    if (dir !== undefined) say(`Stopped what had started; removed ${dir}.`);
    return signal.aborted ? 0 : 1;
  } finally {
    // Already done on every path, unless writing to `out` failed half-way.
    await teardown.run(say);
  }
}
