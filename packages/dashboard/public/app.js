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
  announce: $('announce'),
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
/** Server clock minus ours, from the last snapshot, stats or state event: countdowns use it. */
let clockOffset = 0;
const serverNow = () => Date.now() + clockOffset;
const context = { store, serverNow };

const list = new VirtualList(ui.viewport, ui.spacer, {
  rowHeight: ROW_HEIGHT,
  overscan: OVERSCAN,
  createRow,
  bindRow: (row, record) => bindRow(row, record, context),
  // By name: a resync's new records keep the rows (and a focus) of the old ones.
  keyOf: (record) => record.name,
});

// Filtering -------------------------------------------------------------------------------

let shownStructure = -1;
let shownMembership = -1;
let shownQuery = '';
let shownFilter = 'all';

function matches(record, query, filter) {
  return (filter === 'all' || record.view.state === filter) && record.lower.includes(query);
}

/** Rebuilds the filtered list only when what it depends on changed. */
function refilter() {
  const query = ui.search.value.trim().toLowerCase();
  const filter = ui.filter.value;
  const asked = query !== shownQuery || filter !== shownFilter;
  // A change of state moves a breaker into or out of a state filter, and only that filter.
  const moved = filter !== 'all' && store.membership !== shownMembership;
  if (!asked && !moved && store.structure === shownStructure) return;
  shownQuery = query;
  shownFilter = filter;
  shownStructure = store.structure;
  shownMembership = store.membership;
  // New question, new answer: its first matches, not whatever sits at the old scroll offset.
  if (asked) ui.viewport.scrollTop = 0;
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
  const body = panel.querySelector('.panel-body');
  // null: the server could not read this source; figures kept from before would pass for live.
  panel.classList.toggle('unavailable', stats === null);
  if (stats !== null) {
    render(body, stats);
    return;
  }
  const note = document.createElement('p');
  note.className = 'panel-foot';
  note.dataset.testid = 'panel-unavailable';
  note.textContent = 'Unavailable: the server could not read these figures (see its log).';
  body.replaceChildren(note);
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
    restoreFocus();
  });
}

// Server data -----------------------------------------------------------------------------

function takeSnapshot(snapshot) {
  clockOffset = snapshot.takenAt - Date.now();
  store.load(snapshot);
  render();
}

function takeState(event) {
  // Each `at` was the server's time before it reached us, so the largest estimate is the best
  // until the next stats (a state event may be older than the snapshot before it).
  clockOffset = Math.max(clockOffset, event.at - Date.now());
  store.applyState(event.view);
  render();
}

function takeStats(stats) {
  clockOffset = stats.at - Date.now();
  store.applyStats(stats);
  // Out of step with the server (a breaker that came and went within one snapshot's sample):
  // start again from a new stream, whose snapshot comes in order with its events.
  if (stats.total !== store.records.length) resync();
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

/** The first picture, by GET: shown even when the server has no event stream to spare. */
async function loadSnapshot() {
  try {
    const response = await fetch('breakers', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    takeSnapshot(await response.json());
  } catch (error) {
    showMessage(`Could not load the breakers: ${error.message}`);
  }
}

function setConnection(status) {
  ui.connection.dataset.status = status;
  setText(ui.connection, status);
}

let retryMs = 1000;
/** The stream followed now; one closed for a resync tells nothing more. */
let stream;
/** A resync's stream is open or opening: its snapshot has not come yet. */
let resyncing = false;
function follow() {
  const events = new EventSource('events');
  stream = events;
  events.addEventListener('open', () => {
    retryMs = 1000;
    setConnection('live');
  });
  events.addEventListener('snapshot', (event) => {
    resyncing = false;
    takeSnapshot(JSON.parse(event.data));
  });
  events.addEventListener('state', (event) => takeState(JSON.parse(event.data)));
  events.addEventListener('stats', (event) => takeStats(JSON.parse(event.data)));
  events.addEventListener('error', () => {
    if (events !== stream) return;
    setConnection('reconnecting');
    // EventSource retries a dropped stream by itself, but gives up on an HTTP error (a 503
    // when the server has all the clients it takes): then we try again, backing off.
    if (events.readyState === EventSource.CLOSED) {
      setTimeout(follow, retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  });
}

/**
 * Starts again from a new stream rather than a GET beside this one: a fetched snapshot races the
 * stream, and a state event that lands while it is in flight would be rolled back by it.
 */
function resync() {
  if (resyncing) return;
  resyncing = true;
  stream.close();
  follow();
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

/**
 * Where a control goes. The URL parser drops "." and ".." path segments, "%2E" spellings too,
 * so a breaker named so travels in the query.
 */
function controlPath(name, action) {
  if (name === '.' || name === '..') return `breakers/${action}?name=${encodeURIComponent(name)}`;
  return `breakers/${encodeURIComponent(name)}/${action}`;
}

/** The control whose answer was just rendered, when it had the keyboard focus. */
let refocus;

/**
 * Gives the focus back to the pressed control when a re-render took it away (its row was reused
 * or left the filtered list): to the same button if its breaker is still shown, else the list.
 */
function restoreFocus() {
  if (refocus === undefined) return;
  const { name, action } = refocus;
  refocus = undefined;
  if (document.activeElement !== null && document.activeElement !== document.body) return;
  for (const [row, record] of list.visible()) {
    if (record.name === name) {
      row.querySelector(`button[data-action="${action}"]`)?.focus();
      return;
    }
  }
  ui.viewport.focus();
}

async function control(name, action, button) {
  const { verb } = ACTIONS.find((a) => a.action === action);
  const headers = {};
  if (ui.token.value !== '') headers['X-Breakwater-Token'] = ui.token.value;
  const focused = document.activeElement === button;
  setPending(name, true);
  try {
    const response = await fetch(controlPath(name, action), { method: 'POST', headers });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const reason = typeof body.error === 'string' ? body.error : response.statusText;
      showMessage(`Could not ${verb} "${name}": ${reason} (HTTP ${response.status})`);
      return;
    }
    store.applyAnswer(body);
    // Said even when the words repeat: a second press is news too.
    ui.announce.textContent = `${name}: ${verb} done, now ${STATE_WORDS[body.state] ?? body.state}`;
  } catch (error) {
    showMessage(`Could not ${verb} "${name}": ${error.message}`);
  } finally {
    if (focused) refocus = { name, action };
    setPending(name, false);
  }
}

ui.viewport.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  // Busy or pointless buttons stay focusable (aria-disabled), so they refuse the press here.
  if (button === null || button.getAttribute('aria-disabled') === 'true') return;
  const row = button.closest('[data-testid="breaker-row"]');
  if (row?.dataset.name !== undefined) control(row.dataset.name, button.dataset.action, button);
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
