import type { Writable } from 'node:stream';
import {
  describeValue,
  integerAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { checkSchedule, type PhaseSchedule } from './phases.js';
import type { DemoOptions } from './run.js';

/** DemoOptions checked, with the schedule's defaults filled in. */
export type DemoSettings = Omit<DemoOptions, 'phases'> & { readonly phases: PhaseSchedule };

const OWNER = 'runDemo';
const KNOWN: ReadonlySet<string> = new Set([
  'host',
  'port',
  'traffic',
  'durationSeconds',
  'out',
  'signal',
  'phases',
  'clamd',
  'logger',
]);

function must(condition: boolean, key: string, what: string, value: unknown): void {
  if (!condition) {
    throw new TypeError(`${OWNER}: option "${key}" must be ${what}, got ${describeValue(value)}`);
  }
}

/** Checks runDemo's options once; a mistake is a TypeError or RangeError naming the option. */
export function demoSettings(options: DemoOptions): DemoSettings {
  requireObject(OWNER, options);
  rejectUnknownKeys(OWNER, options, KNOWN);
  const port = integerAtLeast(OWNER, 'port', options.port, 0);
  if (port > 65_535) {
    throw new RangeError(`${OWNER}: option "port" must be an integer <= 65535, got ${port}`);
  }
  must(typeof options.traffic === 'boolean', 'traffic', 'a boolean', options.traffic);
  const { durationSeconds, out, signal, clamd, logger } = options;
  if (durationSeconds !== undefined) {
    must(typeof durationSeconds === 'number', 'durationSeconds', 'a number', durationSeconds);
    if (!(durationSeconds > 0 && Number.isFinite(durationSeconds))) {
      throw new RangeError(
        `${OWNER}: option "durationSeconds" must be a finite number of seconds > 0, got ${durationSeconds}`,
      );
    }
  }
  must(
    typeof (out as Partial<Writable> | null)?.write === 'function',
    'out',
    'a writable stream',
    out,
  );
  must(signal instanceof AbortSignal, 'signal', 'an AbortSignal', signal);
  must(
    clamd === undefined || (Array.isArray(clamd) && clamd.every((c) => typeof c === 'string')),
    'clamd',
    'an array of clamd addresses',
    clamd,
  );
  must(
    logger === undefined ||
      (typeof logger === 'object' &&
        logger !== null &&
        ['info', 'warn', 'error'].every(
          (m) => typeof (logger as unknown as Record<string, unknown>)[m] === 'function',
        )),
    'logger',
    'pino-shaped: info, warn and error methods',
    logger,
  );
  return {
    host: nonEmptyString(OWNER, 'host', options.host),
    port,
    traffic: options.traffic,
    durationSeconds,
    out,
    signal,
    phases: checkSchedule(OWNER, options.phases ?? {}),
    clamd,
    logger,
  };
}
