// The dashboard page: reads the snapshot, then follows the server's event stream; renders the
// breakers through a virtual list, and sends operator controls with the token the user typed.

import { count, STATE_WORDS, span } from './format.js';
import { renderAuthorization, renderScans } from './panels.js';
import { ACTIONS, bindRow, createRow, tickRow } from './row.js';
import { BreakerStore, STATES } from './store.js';
import { VirtualList } from './virtual-list.js';

const ROW_HEIGHT = 48;
const OVERSCAN = 8;
const TOKEN_KEY = 'breakwater.token';
const MESSAGE_MS = 12_000;

const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);
const ui = {
  health: $('health'),
  healthWord: document.querySelector('.health-word'),
  summary: document.querySelector('.state-summary'),
  connection: $('connection'),
  tokenForm: document.querySelector('.token'),
  token: $('token'),
  readOnly: document.querySelector('.read-only'),
  search: $('search'),
  filter: $('state-filter'),
  count: $('breaker-count'),
  message: document.querySelector('.message'),
  viewport: document.querySelector('.viewport'),
  listHead: document.querySelector('.list-head-scroll'),
  spacer: document.querySelector('.spacer'),
  empty: document.querySelector('.empty'),
  windows: document.querySelectorAll('.window'),
  authorization: $('authorization-panel'),
  scans: $('scans-panel'),
};

/**
 * Sets text only when it changed: the header is redrawn every frame with news, and a live
 * region rewritten with the same words would be read out again.
 */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

const store = new BreakerStore();
/** Server clock minus ours, from the last snapshot or stats event: countdowns use the server's. */
let clockOffset = 0;
const serverNow = () => Date.now() + clockOffset;
const context = { store, serverNow };

const list = new VirtualList(ui.viewport, ui.spacer, {
  rowHeight: ROW_HEIGHT,
  overscan: OVERSCAN,
  createRow,
  bindRow: (row, record) => bindRow(row, record, context),
});

// Filtering -------------------------------------------------------------------------------

let shownStructure = -1;
let shownQuery = '';
let shownFilter = 'all';

function matches(record, query, filter) {
  return (filter === 'all' || record.view.state === filter) && record.lower.includes(query);
}

/** Rebuilds the filtered list only when what it depends on changed. */
function refilter() {
  const query = ui.search.value.trim().toLowerCase();
  const filter = ui.filter.value;
  if (query === shownQuery && filter === shownFilter && store.structure === shownStructure) return;
  shownQuery = query;
  shownFilter = filter;
  shownStructure = store.structure;
  const visible =
    query === '' && filter === 'all'
      ? store.records
      : store.records.filter((record) => matches(record, query, filter));
  list.setItems(visible);
  setText(ui.count, `${visible.length} / ${store.records.length}`);
  ui.empty.hidden = visible.length > 0;
  setText(ui.empty, store.records.length === 0 ? 'no breakers yet' : 'no breaker matches');
}

// Header ----------------------------------------------------------------------------------

const summaryItems = new Map();
for (const state of STATES) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'chip';
  button.dataset.state = state;
  button.title = `show only ${STATE_WORDS[state]} breakers`;
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const figure = document.createElement('span');
  figure.className = 'chip-count';
  const word = document.createElement('span');
  word.textContent = STATE_WORDS[state];
  button.append(dot, figure, word);
  button.addEventListener('click', () => {
    ui.filter.value = ui.filter.value === state ? 'all' : state;
    render();
  });
  item.append(button);
  ui.summary.append(item);
  summaryItems.set(state, figure);
}

function renderHeader() {
  const status = store.health();
  ui.health.dataset.status = status;
  setText(ui.healthWord, status);
  for (const [state, figure] of summaryItems) {
    setText(figure, count(store.stateCounts[state]));
    figure.parentElement.dataset.empty = String(store.stateCounts[state] === 0);
    figure.parentElement.setAttribute('aria-pressed', String(ui.filter.value === state));
  }
  for (const option of ui.filter.options) {
    const n = store.stateCounts[option.value];
    setText(
      option,
      option.value === 'all'
        ? `all (${count(store.records.length)})`
        : `${STATE_WORDS[option.value]} (${count(n ?? 0)})`,
    );
  }
  const covered = span(store.historyInterval * store.historyLength);
  for (const label of ui.windows) setText(label, covered);
  document.body.classList.toggle('controls-on', store.controls);
  ui.tokenForm.hidden = !store.controls;
  ui.readOnly.hidden = store.controls;
}

function renderPanel(panel, stats, render) {
  panel.hidden = stats === undefined;
  if (stats === undefined) return;
  const text = JSON.stringify(stats);
  if (panel.shown === text) return;
  panel.shown = text;
  render(panel.querySelector('.panel-body'), stats);
}

let frame = 0;
/** Everything an update can touch, once per frame however many updates arrived. */
function render() {
  if (frame !== 0) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    refilter();
    renderHeader();
    renderPanel(ui.authorization, store.authorization, renderAuthorization);
    renderPanel(ui.scans, store.scans, renderScans);
    list.render();
  });
}

// Server data -----------------------------------------------------------------------------

function takeSnapshot(snapshot) {
  clockOffset = snapshot.takenAt - Date.now();
  store.load(snapshot);
  render();
}

function takeState(event) {
  const before = store.byName.get(event.name)?.view.state;
  store.applyView(event.view);
  // A breaker that changed state may enter or leave the filtered list.
  if (ui.filter.value !== 'all' && before !== event.view.state) shownStructure = -1;
  render();
}

function takeStats(stats) {
  clockOffset = stats.at - Date.now();
  store.applyStats(stats);
  // Out of step with the server (an event lost in a reconnect): start again from a snapshot.
  if (stats.total !== store.records.length && !loading) {
    loadSnapshot();
    return;
  }
  render();
}

let messageTimer;
function showMessage(text) {
  ui.message.textContent = text;
  ui.message.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => {
    ui.message.hidden = true;
  }, MESSAGE_MS);
}

let loading = false;
async function loadSnapshot() {
  loading = true;
  try {
    const response = await fetch('breakers', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    takeSnapshot(await response.json());
  } catch (error) {
    showMessage(`Could not load the breakers: ${error.message}`);
  } finally {
    loading = false;
  }
}

function setConnection(status) {
  ui.connection.dataset.status = status;
  setText(ui.connection, status);
}

let retryMs = 1000;
function follow() {
  const events = new EventSource('events');
  events.addEventListener('open', () => {
    retryMs = 1000;
    setConnection('live');
  });
  events.addEventListener('snapshot', (event) => takeSnapshot(JSON.parse(event.data)));
  events.addEventListener('state', (event) => takeState(JSON.parse(event.data)));
  events.addEventListener('stats', (event) => takeStats(JSON.parse(event.data)));
  events.addEventListener('error', () => {
    setConnection('reconnecting');
    // EventSource retries a dropped stream by itself, but gives up on an HTTP error (a 503
    // when the server has all the clients it takes): then we try again, backing off.
    if (events.readyState === EventSource.CLOSED) {
      setTimeout(follow, retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  });
}

// Controls --------------------------------------------------------------------------------

// The field only keeps the token: there is nothing to submit (and the CSP forbids it).
ui.tokenForm.addEventListener('submit', (event) => event.preventDefault());
ui.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
ui.token.addEventListener('input', () => {
  if (ui.token.value === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, ui.token.value);
});

/** Marks a breaker's buttons busy (or not): its row, wherever it is now, shows it on rebinding. */
function setPending(name, pending) {
  const record = store.byName.get(name);
  if (record === undefined) return;
  record.pending = pending;
  record.version++;
  render();
}

async function control(name, action) {
  const { verb } = ACTIONS.find((a) => a.action === action);
  const headers = {};
  if (ui.token.value !== '') headers['X-Breakwater-Token'] = ui.token.value;
  setPending(name, true);
  try {
    const response = await fetch(`breakers/${encodeURIComponent(name)}/${action}`, {
      method: 'POST',
      headers,
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const reason = typeof body.error === 'string' ? body.error : response.statusText;
      showMessage(`Could not ${verb} "${name}": ${reason} (HTTP ${response.status})`);
      return;
    }
    store.applyView(body);
  } catch (error) {
    showMessage(`Could not ${verb} "${name}": ${error.message}`);
  } finally {
    setPending(name, false);
  }
}

ui.viewport.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  const row = button?.closest('[data-testid="breaker-row"]');
  if (row?.dataset.name !== undefined) control(row.dataset.name, button.dataset.action);
});

// Wiring ----------------------------------------------------------------------------------

// The column heads scroll sideways with the list on a narrow screen.
ui.viewport.addEventListener(
  'scroll',
  () => {
    ui.listHead.scrollLeft = ui.viewport.scrollLeft;
  },
  { passive: true },
);
ui.search.addEventListener('input', render);
ui.filter.addEventListener('change', render);
ui.message.addEventListener('click', () => {
  ui.message.hidden = true;
});
// Countdowns and "ago" move with the clock alone: only the rows on screen need it.
setInterval(() => {
  const now = serverNow();
  for (const [row] of list.visible()) tickRow(row, now);
}, 500);

await loadSnapshot();
follow();
