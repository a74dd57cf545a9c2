import {
  durationAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { CLAMD_TIMEOUT_MS, SPICEDB_TIMEOUT_MS } from './config.js';
import type { FaultProxy } from './fault-proxy.js';

/** Which proxy a fault acts on. */
export type FaultTarget = 'spicedb' | 'clamd';

/** A scripted fault: what it does to its target's proxy, and how the target recovers. */
export interface Fault {
  readonly target: FaultTarget;
  /** For the terminal: `SpiceDB hangs`. */
  readonly title: string;
  /** What it means, in a few words: `its proxy holds every byte`. */
  readonly how: string;
  apply(proxy: FaultProxy): void | Promise<void>;
  heal(proxy: FaultProxy): void | Promise<void>;
}

/** Past the SpiceDB check timeout even one way, yet an answer comes: slow, not hung. */
export const SPICEDB_SLOW_MS = 800;
/** Past the clamd scan timeout for a round trip (1 500 ms each way). */
export const CLAMD_SLOW_MS = 1_500;

const pass = (proxy: FaultProxy): void => proxy.pass();

/**
 * The faults the demo cycles through, in order; those whose target is missing (no clamd found)
 * are left out of the cycle.
 */
export const FAULTS: readonly Fault[] = [
  {
    target: 'spicedb',
    title: 'SpiceDB hangs',
    how: 'its proxy holds every byte, connections stay open',
    apply: (proxy) => proxy.pause(),
    heal: pass,
  },
  {
    target: 'clamd',
    title: 'clamd refuses connections',
    how: 'its proxy stops listening',
    apply: (proxy) => proxy.kill(),
    heal: (proxy) => proxy.restart(),
  },
  {
    target: 'spicedb',
    title: 'SpiceDB is slow',
    how: `every chunk ${SPICEDB_SLOW_MS} ms late each way, past the ${SPICEDB_TIMEOUT_MS} ms check timeout`,
    apply: (proxy) => proxy.slow(SPICEDB_SLOW_MS),
    heal: pass,
  },
  {
    target: 'clamd',
    title: 'clamd is slow',
    how: `every chunk ${CLAMD_SLOW_MS} ms late each way, past its ${CLAMD_TIMEOUT_MS} ms scan timeout`,
    apply: (proxy) => proxy.slow(CLAMD_SLOW_MS),
    heal: pass,
  },
  {
    target: 'spicedb',
    title: 'SpiceDB refuses connections',
    how: 'its proxy stops listening',
    apply: (proxy) => proxy.kill(),
    heal: (proxy) => proxy.restart(),
  },
];

/** When faults run, in ms from the start: the first at `firstFaultMs`, one every `everyMs`, each for `faultMs`. */
export interface PhaseSchedule {
  readonly firstFaultMs: number;
  readonly faultMs: number;
  readonly everyMs: number;
}

/**
 * The first fault early enough that `--duration 20` sees a breaker open and close again (its
 * open period is 3 s), then one every 30 s, each held 8 s: long enough to watch on the dashboard.
 */
export const DEFAULT_SCHEDULE: PhaseSchedule = {
  firstFaultMs: 5_000,
  faultMs: 8_000,
  everyMs: 30_000,
};

/** A point in the script: a fault starts, or the recovery from it. */
export interface Phase {
  readonly kind: 'fault' | 'recovery';
  readonly atMs: number;
  readonly fault: Fault;
  /** 1 for the first fault and its recovery. */
  readonly number: number;
}

/**
 * The `index`th phase (from 0): faults and recoveries alternate, cycling through `faults`.
 * Undefined with no faults to cycle through.
 */
export function phaseAt(
  schedule: PhaseSchedule,
  faults: readonly Fault[],
  index: number,
): Phase | undefined {
  const cycle = Math.floor(index / 2);
  const fault = faults[cycle % faults.length];
  if (fault === undefined) return undefined;
  const start = schedule.firstFaultMs + cycle * schedule.everyMs;
  return index % 2 === 0
    ? { kind: 'fault', atMs: start, fault, number: cycle + 1 }
    : { kind: 'recovery', atMs: start + schedule.faultMs, fault, number: cycle + 1 };
}

const SCHEDULE_KEYS: ReadonlySet<string> = new Set(['firstFaultMs', 'faultMs', 'everyMs']);

/** A schedule given to runDemo, checked: each fault must end before the next one starts. */
export function checkSchedule(owner: string, value: unknown): PhaseSchedule {
  requireObject(`${owner} phases`, value);
  rejectUnknownKeys(`${owner} phases`, value, SCHEDULE_KEYS);
  const given = value as Partial<PhaseSchedule>;
  const at = (key: keyof PhaseSchedule): number =>
    durationAtLeast(owner, `phases.${key}`, orDefault(given[key], DEFAULT_SCHEDULE[key]), 0);
  const schedule = {
    firstFaultMs: at('firstFaultMs'),
    faultMs: at('faultMs'),
    everyMs: at('everyMs'),
  };
  if (schedule.faultMs >= schedule.everyMs) {
    throw new RangeError(
      `${owner}: option "phases.faultMs" (${schedule.faultMs}) must be less than "phases.everyMs" (${schedule.everyMs}), so that each fault ends before the next`,
    );
  }
  return schedule;
}
