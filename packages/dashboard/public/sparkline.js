// A sparkline as inline SVG (built through the DOM, so the page's CSP needs no inline style):
// a filled area under a line, newest sample at the right edge.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 100;
const HEIGHT = 24;

export function createSparkline(testId, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('data-testid', testId);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const area = document.createElementNS(SVG, 'path');
  area.setAttribute('class', 'spark-area');
  const line = document.createElementNS(SVG, 'path');
  line.setAttribute('class', 'spark-line');
  svg.append(area, line);
  return svg;
}

/**
 * Draws `values` (at most `slots` of them) scaled to `max`, right-aligned so a young breaker's
 * short history grows in from the right, as a strip chart does.
 */
export function drawSparkline(svg, samples, slots, max) {
  const [area, line] = svg.children;
  // One sample is a level, not a point: draw it across one step.
  const values = samples.length === 1 ? [samples[0], samples[0]] : samples;
  const n = values.length;
  if (n === 0 || max <= 0) {
    line.setAttribute('d', `M0 ${HEIGHT - 0.5}H${WIDTH}`);
    area.setAttribute('d', '');
    return;
  }
  const step = WIDTH / Math.max(1, slots - 1);
  const start = WIDTH - step * (n - 1);
  let d = '';
  for (let i = 0; i < n; i++) {
    const x = start + step * i;
    const y = HEIGHT - 1 - (Math.min(values[i], max) / max) * (HEIGHT - 2);
    d += `${i === 0 ? 'M' : 'L'}${x.toFixed(2)} ${y.toFixed(2)}`;
  }
  line.setAttribute('d', d);
  area.setAttribute('d', `${d}L${WIDTH} ${HEIGHT}L${start.toFixed(2)} ${HEIGHT}Z`);
}
