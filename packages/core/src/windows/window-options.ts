import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
} from '../validate.js';
import { type CallWindow, CountWindow, TimeWindow } from './call-window.js';

interface RateRules {
  /** Calls the window must hold before its rates mean anything. Default 10 (at most `size`). */
  minimumCalls?: number | undefined;
  /** The share of failed calls, 0 to 1, that opens the breaker. Default 0.5. */
  failureRateThreshold?: number | undefined;
  /** A call that takes at least this many ms counts as slow, even if it succeeded. Default none. */
  slowCallDuration?: number | undefined;
  /** The share of slow calls, 0 to 1, that opens the breaker. Default 1 (with `slowCallDuration`). */
  slowCallRateThreshold?: number | undefined;
}

/** A rate-based trip rule over the last `size` calls, or over the last `duration` ms. */
export type WindowOptions =
  | ({ type: 'count' /** Default 100. */; size?: number | undefined } & RateRules)
  | ({
      type: 'time';
      /** Default 60 000 ms. */
      duration?: number | undefined;
      /** Default 10. */
      buckets?: number | undefined;
    } & RateRules);

/** The rate rule, checked, with defaults filled in. */
export interface WindowSettings {
  readonly create: () => CallWindow;
  /** A time window, which needs the time of every call. */
  readonly timed: boolean;
  readonly minimumCalls: number;
  readonly failureRateThreshold: number;
  /** `Infinity` when no call counts as slow. */
  readonly slowCallDuration: number;
  readonly slowCallRateThreshold: number;
}

const RULE_KEYS = [
  'minimumCalls',
  'failureRateThreshold',
  'slowCallDuration',
  'slowCallRateThreshold',
];
const COUNT_KEYS: ReadonlySet<string> = new Set(['type', 'size', ...RULE_KEYS]);
const TIME_KEYS: ReadonlySet<string> = new Set(['type', 'duration', 'buckets', ...RULE_KEYS]);
// Past this many buckets the per-bucket arrays cost more than the precision is worth.
const MAX_BUCKETS = 1_000;

export function resolveWindow(owner: string, value: unknown): WindowSettings | undefined {
  if (value === undefined) return undefined;
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value !== 'object' || value === null || (type !== 'count' && type !== 'time')) {
    throw new TypeError(
      `${owner}: option "window" must be { type: 'count', ... } or { type: 'time', ... }, got ${describeValue(type === undefined ? value : type)}`,
    );
  }
  const where = `${owner} window`;
  const o = value as Record<string, unknown>;
  let create: () => CallWindow;
  let capacity = Number.POSITIVE_INFINITY;
  if (type === 'count') {
    rejectUnknownKeys(where, o, COUNT_KEYS);
    const size = integerAtLeast(where, 'size', orDefault(o.size, 100), 1);
    capacity = size;
    create = () => new CountWindow(size);
  } else {
    rejectUnknownKeys(where, o, TIME_KEYS);
    const duration = durationAtLeast(where, 'duration', orDefault(o.duration, 60_000), 1);
    const buckets = integerAtLeast(where, 'buckets', orDefault(o.buckets, 10), 1);
    if (buckets > MAX_BUCKETS || duration / buckets < 1) {
      throw new RangeError(
        `${where}: option "buckets" must be at most ${MAX_BUCKETS} and leave each bucket at least 1 ms, got ${buckets} for ${duration} ms`,
      );
    }
    create = () => new TimeWindow(duration, buckets);
  }
  const minimumCalls = integerAtLeast(
    where,
    'minimumCalls',
    orDefault(o.minimumCalls, Math.min(10, capacity)),
    1,
  );
  if (minimumCalls > capacity) {
    throw new RangeError(
      `${where}: option "minimumCalls" (${minimumCalls}) must be <= size (${capacity}), or the window could never trip`,
    );
  }
  const slowCallDuration =
    o.slowCallDuration === undefined
      ? Number.POSITIVE_INFINITY
      : durationAtLeast(where, 'slowCallDuration', o.slowCallDuration, 1);
  if (o.slowCallRateThreshold !== undefined && o.slowCallDuration === undefined) {
    throw new TypeError(`${where}: option "slowCallRateThreshold" needs "slowCallDuration"`);
  }
  return {
    create,
    timed: type === 'time',
    minimumCalls,
    failureRateThreshold: fraction(
      where,
      'failureRateThreshold',
      orDefault(o.failureRateThreshold, 0.5),
    ),
    slowCallDuration,
    slowCallRateThreshold: fraction(
      where,
      'slowCallRateThreshold',
      orDefault(o.slowCallRateThreshold, 1),
    ),
  };
}

function fraction(owner: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new RangeError(
      `${owner}: option "${key}" must be a fraction above 0 and at most 1 (0.5 for 50%), got ${describeValue(value)}`,
    );
  }
  return value;
}
