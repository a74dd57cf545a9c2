import { DEFAULTS, type Settings } from './options.js';
import { describeValue } from './validate.js';

/**
 * How long the breaker stays open this time: `openDuration` (or its answer for this
 * attempt) plus up to `jitter` whole ms (or that fraction of the period). A function that
 * throws or answers nonsense is reported and the default used: opening anyway is the safe side.
 */
export function openPeriod(
  settings: Settings<unknown>,
  attempt: number,
  report: (error: unknown, message: string) => void,
): number {
  const { openDuration } = settings;
  let base = DEFAULTS.openDuration as number;
  if (typeof openDuration === 'number') {
    base = openDuration;
  } else {
    try {
      const answer: unknown = openDuration({ attempt });
      if (typeof answer === 'number' && Number.isFinite(answer) && answer >= 0) base = answer;
      else
        throw new RangeError(
          `openDuration({ attempt: ${attempt} }) returned ${describeValue(answer)}`,
        );
    } catch (error) {
      report(error, `openDuration failed; open for the default ${DEFAULTS.openDuration} ms`);
    }
  }
  const jitter =
    typeof settings.jitter === 'number' ? settings.jitter : base * settings.jitter.fraction;
  // Whole ms from 0 to floor(jitter) inclusive, so `until` stays an integer epoch time.
  return base + (jitter > 0 ? Math.floor(Math.random() * (Math.floor(jitter) + 1)) : 0);
}
