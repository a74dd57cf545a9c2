// The authorization and scans panels: small tables rebuilt from each stats event's figures
// (a few dozen cells), only when the figures changed.

import { bytes, count, percent, words } from './format.js';

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function figure(label, value, testId) {
  const box = element('div', 'figure');
  const shown = element('span', 'figure-value', value);
  if (testId !== undefined) shown.dataset.testid = testId;
  box.append(shown, element('span', 'figure-label', label));
  return box;
}

function table(caption, columns, rows) {
  const grid = element('table', 'grid');
  grid.append(element('caption', '', caption));
  const head = element('tr');
  for (const column of columns) {
    const cell = element('th', '', column);
    cell.scope = 'col';
    head.append(cell);
  }
  grid.appendChild(element('thead')).append(head);
  const body = grid.appendChild(element('tbody'));
  for (const [label, ...cells] of rows) {
    const tr = body.appendChild(element('tr'));
    const th = element('th', '', label);
    th.scope = 'row';
    tr.append(th, ...cells.map((cell) => element('td', 'num', cell)));
  }
  return grid;
}

function total(record) {
  let sum = 0;
  for (const value of Object.values(record)) sum += value;
  return sum;
}

export function renderAuthorization(body, stats) {
  const sources = Object.entries(stats.checks);
  const checks = sources.reduce((sum, [, c]) => sum + c.allowed + c.denied, 0);
  const fallbacks = Object.values(stats.fallbacks).reduce((sum, f) => sum + total(f), 0);
  const latency = stats.backend.latencyMs;
  const figures = element('div', 'figures');
  figures.append(
    figure('checks', count(checks), 'authz-checks'),
    figure(
      'cache hit rate',
      stats.cache === undefined ? 'no cache' : percent(stats.cache.hitRate),
      'authz-hit-rate',
    ),
    figure('fallbacks', count(fallbacks), 'authz-fallbacks'),
    figure(
      'backend mean',
      latency.count === 0 ? '–' : `${(latency.sum / latency.count).toFixed(1)} ms`,
    ),
  );
  const bySource = table(
    'checks by source',
    ['source', 'allowed', 'denied'],
    sources.map(([source, c]) => [source, count(c.allowed), count(c.denied)]),
  );
  const reasons = ['circuit_open', 'backend_error', 'timeout'];
  const byStrategy = Object.entries(stats.fallbacks).map(([strategy, f]) =>
    element(
      'p',
      'panel-foot',
      `fallback ${words(strategy)}: ${reasons
        .map((reason) => `${count(f[reason] ?? 0)} ${words(reason)}`)
        .join(' · ')}`,
    ),
  );
  const foot = element(
    'p',
    'panel-foot',
    `breaker ${stats.breaker} · backend ${count(stats.backend.calls)} calls, ${count(
      stats.backend.errors,
    )} errors · ${count(stats.requestErrors)} bad requests`,
  );
  body.replaceChildren(figures, bySource, ...byStrategy, foot);
}

export function renderScans(body, stats) {
  const engines = Object.entries(stats.engines);
  const outcomes = [...new Set(engines.flatMap(([, byOutcome]) => Object.keys(byOutcome)))];
  const figures = element('div', 'figures');
  figures.append(
    figure('scans completed', count(stats.scans.completed), 'scans-completed'),
    figure('scans failed', count(stats.scans.failed)),
    figure('scanned', bytes(stats.bytesScanned), 'scans-bytes'),
  );
  const byEngine = table(
    'engine outcomes',
    ['engine', ...outcomes.map(words)],
    engines.map(([engine, byOutcome]) => [
      engine,
      ...outcomes.map((outcome) => count(byOutcome[outcome] ?? 0)),
    ]),
  );
  const decisions = element('div', 'decisions');
  decisions.setAttribute('aria-label', 'policy decisions');
  for (const [action, n] of Object.entries(stats.decisions)) {
    const decision = figure(words(action), count(n));
    decision.dataset.action = action;
    decisions.append(decision);
  }
  body.replaceChildren(figures, byEngine, decisions);
}
