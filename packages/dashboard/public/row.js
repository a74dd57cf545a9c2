// One breaker's row: built once per pooled element, then rebound to whichever breaker it shows.
// Everything from the server goes in through textContent or an attribute, never as markup.

import { ago, count, duration, percent, perSecond, STATE_WORDS, words } from './format.js';
import { createSparkline, drawSparkline } from './sparkline.js';

export const ACTIONS = [
  { action: 'open', label: 'open', verb: 'force open' },
  { action: 'close', label: 'close', verb: 'force close' },
  { action: 'reset', label: 'reset', verb: 'reset' },
  { action: 'disable', label: 'disable', verb: 'disable' },
];

function span(className, testId) {
  const element = document.createElement('span');
  element.className = className;
  if (testId !== undefined) element.dataset.testid = testId;
  return element;
}

export function createRow() {
  const row = document.createElement('li');
  row.className = 'row';
  row.dataset.testid = 'breaker-row';

  const state = span('state-badge', 'state');
  const who = span('who');
  const name = span('name', 'name');
  const meta = span('meta');
  who.append(name, meta);

  const calls = span('metric calls');
  const callsSpark = createSparkline('calls-spark', 'calls per second, recent intervals');
  const callsValue = span('value');
  calls.append(callsSpark, callsValue);

  const errors = span('metric errors');
  const errorsSpark = createSparkline('errors-spark', 'error share, recent intervals');
  const rate = span('value', 'rate');
  errors.append(errorsSpark, rate);

  const rejections = span('num rejections', 'rejections');

  const transition = span('transition', 'last-transition');
  const move = span('move');
  const why = span('why');
  transition.append(move, why);

  const countdown = span('countdown', 'countdown');
  const actions = span('actions');

  row.append(state, who, calls, errors, rejections, transition, countdown, actions);
  row.parts = {
    state,
    name,
    meta,
    callsSpark,
    callsValue,
    errorsSpark,
    rate,
    rejections,
    move,
    why,
    countdown,
    actions,
  };
  return row;
}

function sum(values) {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/**
 * Shows `record` in `row`: skipped when the row already shows this version of it at this tick,
 * so a frame re-renders only the rows whose breaker moved.
 */
export function bindRow(row, record, context) {
  const parts = row.parts;
  if (row.bound !== record || row.boundVersion !== record.version) {
    row.bound = record;
    row.boundVersion = record.version;
    row.boundTick = -1;
    const view = record.view;
    row.dataset.name = record.name;
    row.dataset.state = view.state;
    row.dataset.status = view.status;
    parts.state.textContent = STATE_WORDS[view.state] ?? view.state;
    parts.name.textContent = record.name;
    parts.name.title = record.name;
    parts.meta.textContent = `${view.criticality} · ${count(view.metrics.total)} calls`;
    parts.rejections.textContent = count(view.metrics.rejections);
    const last = view.lastTransition;
    parts.move.textContent = last === null ? 'none yet' : `${words(last.from)} → ${words(last.to)}`;
    const windowRate = view.metrics.failureRate;
    parts.rate.title =
      windowRate === null ? 'no window rate' : `window failure rate ${percent(windowRate)}`;
    bindActions(parts.actions, record, context);
  }
  if (row.boundTick !== context.store.tick) {
    row.boundTick = context.store.tick;
    const { calls, errors } = context.store.history(record);
    const slots = context.store.historyLength;
    const seconds = context.store.historyInterval / 1000;
    const callRates = calls.map((value) => value / seconds);
    drawSparkline(parts.callsSpark, callRates, slots, Math.max(1, ...callRates));
    const shares = calls.map((value, i) => (value > 0 ? (errors[i] ?? 0) / value : 0));
    drawSparkline(parts.errorsSpark, shares, slots, 1);
    const totalCalls = sum(calls);
    parts.callsValue.textContent = `${perSecond(totalCalls / Math.max(1, calls.length) / seconds)}/s`;
    parts.rate.textContent = totalCalls === 0 ? '–' : percent(sum(errors) / totalCalls);
  }
  tickRow(row, context.serverNow());
}

/** The parts that move with the clock alone: the countdown and how long ago. */
export function tickRow(row, now) {
  const record = row.bound;
  if (record === undefined) return;
  const view = record.view;
  const parts = row.parts;
  const last = view.lastTransition;
  parts.why.textContent = last === null ? '' : `${words(last.reason)} · ${ago(now - last.at)}`;
  let countdown = '';
  if (view.state === 'forced_open') countdown = 'held open';
  else if (view.state === 'half_open') countdown = 'probing';
  else if (view.nextProbeAt !== null) {
    const left = view.nextProbeAt - now;
    countdown = left > 0 ? `in ${duration(left)}` : 'due';
  }
  parts.countdown.textContent = countdown;
}

function bindActions(actions, record, context) {
  if (!context.store.controls) {
    if (actions.firstChild !== null) actions.replaceChildren();
    return;
  }
  if (actions.firstChild === null) {
    for (const { action, label } of ACTIONS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `action action-${action}`;
      button.dataset.action = action;
      button.textContent = label;
      actions.append(button);
    }
  }
  const state = record.view.state;
  for (const button of actions.children) {
    const { verb } = ACTIONS.find((a) => a.action === button.dataset.action);
    button.setAttribute('aria-label', `${verb} ${record.name}`);
    button.title = `${verb} ${record.name}`;
    // Busy with an earlier press, or already there: pressing it would change nothing. Not
    // `disabled`, which would throw the keyboard focus out of the row while a press is answered.
    const idle =
      record.pending === true ||
      (button.dataset.action === 'open' && state === 'forced_open') ||
      (button.dataset.action === 'disable' && state === 'disabled');
    button.setAttribute('aria-disabled', String(idle));
  }
}
