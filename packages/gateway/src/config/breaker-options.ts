import { CircuitBreaker } from '@breakwater/core';
import { childPath, isPlainObject, type Section } from './section.js';
import type { JsonBreakerOptions } from './types.js';

const KEYS = [
  'failureThreshold',
  'successThreshold',
  'halfOpenMaxProbes',
  'halfOpenMaxWait',
  'timeout',
  'jitter',
  'window',
  'openDuration',
] as const;
const RATE_KEYS = [
  'minimumCalls',
  'failureRateThreshold',
  'slowCallDuration',
  'slowCallRateThreshold',
];
const WINDOW_KEYS = {
  count: ['type', 'size', ...RATE_KEYS],
  time: ['type', 'duration', 'buckets', ...RATE_KEYS],
} as const;
// Core names the option in its messages: `CircuitBreaker window: option "size" must be ...`.
const CORE_MESSAGE = /^CircuitBreaker( window)?: option "([^"]+)" (.*)$/s;

/**
 * A breaker's options as JSON can say them, checked by core itself: a throwaway breaker is built
 * from each option (and then from all of them together), and what core refuses is reported
 * under the option's path. Only the keys JSON can carry are accepted.
 */
export function readBreakerOptions(parent: Section, key = 'breaker'): JsonBreakerOptions {
  const section = parent.section(key, KEYS);
  const options: Record<string, unknown> = {};
  for (const name of KEYS) if (section.has(name)) options[name] = section.raw(name);
  checkShapes(section, options);
  let allValid = true;
  for (const [name, value] of Object.entries(options)) {
    // halfOpenMaxWait must cover timeout: the two are checked together below.
    if (name === 'halfOpenMaxWait') continue;
    allValid = tryBreaker(section, { [name]: value }) && allValid;
  }
  if (allValid) tryBreaker(section, options);
  return options as JsonBreakerOptions;
}

/**
 * Unknown keys inside `window` and `jitter`, reported like any other and left out of what core
 * sees, so each is reported once.
 */
function checkShapes(section: Section, options: Record<string, unknown>): void {
  const { window, jitter } = options;
  if (isPlainObject(window) && (window.type === 'count' || window.type === 'time')) {
    const known = WINDOW_KEYS[window.type];
    section.section('window', known);
    options.window = pick(window, known);
  }
  if (isPlainObject(jitter)) {
    section.section('jitter', ['fraction']);
    options.jitter = pick(jitter, ['fraction']);
  }
}

function pick(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => keys.includes(key)));
}

function tryBreaker(section: Section, options: Record<string, unknown>): boolean {
  try {
    new CircuitBreaker(options);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    const match = CORE_MESSAGE.exec(message);
    if (match === null) {
      section.fail(section.path, message);
    } else {
      const [, inWindow, option = '', problem = ''] = match;
      const base = inWindow === undefined ? section.path : childPath(section.path, 'window');
      // `jitter.fraction` is already a path below the breaker.
      section.fail(`${base}.${option}`, problem);
    }
    return false;
  }
}
