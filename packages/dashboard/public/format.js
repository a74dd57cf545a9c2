// Numbers, durations and state names as the page writes them.

const integer = new Intl.NumberFormat('en');
const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
// Rates keep their decimal so a column of them lines up.
const fixedDecimal = new Intl.NumberFormat('en', {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

export const STATE_WORDS = {
  closed: 'closed',
  open: 'open',
  half_open: 'half-open',
  forced_open: 'forced open',
  disabled: 'disabled',
};

export function count(value) {
  return integer.format(value);
}

export function perSecond(value) {
  return value > 0 && value < 0.1 ? '<0.1' : fixedDecimal.format(value);
}

export function percent(share) {
  if (share === null || !Number.isFinite(share)) return '–';
  if (share > 0 && share < 0.001) return '<0.1%';
  return `${fixedDecimal.format(share * 100)}%`;
}

/**
 * Whole seconds, minutes and seconds, or hours and minutes: a countdown's words. Rounded, not
 * ceiled: the clock offset is estimated from events that arrive a few ms late.
 */
export function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} m ${String(seconds % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} m`;
  return `${Math.floor(hours / 24)} d`;
}

export function ago(ms) {
  if (ms < 1000) return 'just now';
  return `${duration(Math.floor(ms / 1000) * 1000)} ago`;
}

export function bytes(value) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  let scaled = value;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(scaled) : oneDecimal.format(scaled)} ${units[unit]}`;
}

/** A reason code as words: `failure_threshold` -> `failure threshold`. */
export function words(code) {
  return String(code).replaceAll('_', ' ');
}

/** The span the sparklines cover, as the column heads say it. */
export function span(ms) {
  if (ms === 60_000) return 'last minute';
  if (ms % 60_000 === 0) return `last ${ms / 60_000} min`;
  return `last ${Math.round(ms / 1000)} s`;
}
