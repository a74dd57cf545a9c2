import { inspect } from 'node:util';
import { BreakerRegistry, CircuitBreaker, type Logger } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import type { BreakerView } from '../src/index.js';
import { createDashboard } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { bodyOf, dashboardPerTest } from './fixture.js';

const TOKEN = 'c0ntrol-T0ken-9f2e';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (fields: Record<string, unknown>, message: string) => {
    lines.push(`${message} ${inspect(fields)}`);
  };
  return { lines, info: record, warn: record, error: record };
}

const start = dashboardPerTest({ token: TOKEN });

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected it to throw');
}

function post(url: string, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', headers });
}

describe('POST breakers/:name/:action', () => {
  it('refuses without a token (401) and with a wrong one (403), changing nothing', async () => {
    const { url, registry } = await start();
    const breaker = registry.get('payments');
    const missing = await post(`${url}breakers/payments/open`);
    expect(missing.status).toBe(401);
    expect(await bodyOf(missing)).toEqual({
      error: 'this control needs the token: send it in the X-Breakwater-Token header',
    });
    for (const headers of [
      { 'X-Breakwater-Token': `${TOKEN}x` },
      { 'X-Breakwater-Token': TOKEN.slice(1) },
      { Authorization: 'Bearer wrong' },
    ]) {
      const wrong = await post(`${url}breakers/payments/open`, headers);
      expect(wrong.status).toBe(403);
      const text = await wrong.text();
      expect(JSON.parse(text)).toEqual({ error: 'the token does not match' });
      expect(text).not.toContain(TOKEN);
    }
    expect(breaker.state().name).toBe('closed');
  });

  it('logs each refused attempt at warn, with the method, path, breaker and reason, never the token', async () => {
    const warnings: [Record<string, unknown>, string][] = [];
    const logger: Logger = {
      info() {},
      warn: (fields, message) => warnings.push([fields, message]),
      error() {},
    };
    const { url, registry } = await start({ logger });
    registry.get('pay/ments');
    const path = `${url}breakers/${encodeURIComponent('pay/ments')}/open`;
    await post(path);
    // Wrong by its last character only: no part of what was sent may show either.
    const guess = `${TOKEN.slice(0, -1)}#`;
    await post(path, { 'X-Breakwater-Token': guess });
    await post(`${url}breakers/nope/reset?x=1`, { Authorization: 'Bearer not-it' });
    expect(warnings).toEqual([
      [
        {
          method: 'POST',
          path: '/breakers/pay%2Fments/open',
          breaker: 'pay/ments',
          action: 'open',
          reason: 'missing token',
        },
        'dashboard: a control was refused (missing token)',
      ],
      [
        {
          method: 'POST',
          path: '/breakers/pay%2Fments/open',
          breaker: 'pay/ments',
          action: 'open',
          reason: 'wrong token',
        },
        'dashboard: a control was refused (wrong token)',
      ],
      [
        {
          method: 'POST',
          path: '/breakers/nope/reset',
          breaker: 'nope',
          action: 'reset',
          reason: 'wrong token',
        },
        'dashboard: a control was refused (wrong token)',
      ],
    ]);
    const logged = JSON.stringify(warnings);
    for (const secret of [TOKEN, guess, TOKEN.slice(0, 4), 'not-it']) {
      expect(logged).not.toContain(secret);
    }
  });

  it('answers 200 for a control that acted even when the logger throws', async () => {
    const logger: Logger = {
      info() {
        throw new Error('the log pipe is full');
      },
      warn() {
        throw new Error('the log pipe is full');
      },
      error() {},
    };
    const emitted: string[] = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((warning) => {
      emitted.push(String(warning));
    });
    try {
      const { url, registry } = await start({ logger });
      const breaker = registry.get('payments');
      expect((await post(`${url}breakers/payments/open`)).status).toBe(401);
      const opened = await post(`${url}breakers/payments/open`, { 'X-Breakwater-Token': TOKEN });
      expect(opened.status).toBe(200);
      expect((await bodyOf<BreakerView>(opened)).state).toBe('forced_open');
      expect(breaker.state().name).toBe('open');
      expect(emitted).toEqual([
        'dashboard: the logger threw on "dashboard: a control was refused (missing token)": Error: the log pipe is full',
        'dashboard: the logger threw on "dashboard: an operator asked breaker "payments" to open": Error: the log pipe is full',
      ]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('refuses every control with 403 when no token is configured', async () => {
    const { url, registry } = await start({ token: undefined });
    const breaker = registry.get('payments');
    const response = await post(`${url}breakers/payments/open`, { 'X-Breakwater-Token': 'x' });
    expect(response.status).toBe(403);
    expect(await bodyOf(response)).toEqual({ error: 'controls are off: no token configured' });
    expect(breaker.state().name).toBe('closed');
  });

  it('runs each action on the real breaker with the right token, and answers its view', async () => {
    const logger = recordingLogger();
    const { url, registry } = await start({ token: TOKEN, logger });
    const breaker = registry.get('pay/ments');
    const path = `${url}breakers/${encodeURIComponent('pay/ments')}`;
    const headers = { 'X-Breakwater-Token': TOKEN };

    const opened = await post(`${path}/open`, headers);
    expect(opened.status).toBe(200);
    expect(await bodyOf<BreakerView>(opened)).toMatchObject({
      name: 'pay/ments',
      state: 'forced_open',
    });
    expect(breaker.state()).toMatchObject({ name: 'open', forced: true });

    expect((await post(`${path}/close`, headers)).status).toBe(200);
    expect(breaker.state().name).toBe('closed');

    const disabled = await post(`${path}/disable`, { Authorization: `Bearer ${TOKEN}` });
    expect((await bodyOf<BreakerView>(disabled)).state).toBe('disabled');
    expect(breaker.state().name).toBe('disabled');

    await breaker.execute(() => Promise.resolve(1));
    expect(breaker.metrics().totalRequests).toBe(1);
    const reset = await bodyOf<BreakerView>(await post(`${path}/reset`, headers));
    expect(reset).toMatchObject({ state: 'closed', metrics: { total: 0 } });
    expect(breaker.metrics().totalRequests).toBe(0);

    expect(logger.lines).toHaveLength(4);
    expect(logger.lines[0]).toContain('an operator asked breaker "pay/ments" to open');
    expect(logger.lines.join('\n')).not.toContain(TOKEN);
  });

  it('finds a breaker made since the last sample by name, without a walk of the registry', async () => {
    const { url, registry } = await start();
    const response = await fetch(`${url}breakers`);
    expect(response.status).toBe(200);
    const late = new CircuitBreaker({ name: 'late' });
    registry.register('late', late, { criticality: 'critical' });
    const walks = vi.spyOn(registry, 'forEach');
    const answer = await post(`${url}breakers/late/open`, { 'X-Breakwater-Token': TOKEN });
    expect(answer.status).toBe(200);
    expect(await bodyOf<BreakerView>(answer)).toMatchObject({
      name: 'late',
      state: 'forced_open',
      criticality: 'critical',
      status: 'critical',
      history: { calls: [], errors: [] },
    });
    expect(late.state().name).toBe('open');
    expect(walks).not.toHaveBeenCalled();
  });

  it('answers 404 for an unknown breaker or action, and 400 for a malformed name', async () => {
    const { url, registry } = await start();
    const breaker = registry.get('payments');
    const headers = { 'X-Breakwater-Token': TOKEN };
    const unknown = await post(`${url}breakers/nope/open`, headers);
    expect(unknown.status).toBe(404);
    expect(await bodyOf(unknown)).toEqual({ error: 'no breaker called "nope"' });
    const action = await post(`${url}breakers/payments/explode`, headers);
    expect(action.status).toBe(404);
    expect(await bodyOf(action)).toEqual({
      error: 'unknown action "explode": use open, close, reset or disable',
    });
    const malformed = await post(`${url}breakers/%E0%A4%A/open`, headers);
    expect(malformed.status).toBe(400);
    expect(breaker.state().name).toBe('closed');
  });

  it('answers 405 with Allow for any other method on a control path', async () => {
    const { url, registry } = await start();
    const breaker = registry.get('payments');
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const response = await fetch(`${url}breakers/payments/open`, {
        method,
        headers: { 'X-Breakwater-Token': TOKEN },
      });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect((await bodyOf(response)).error).toBe(`${method} is not allowed here: use POST`);
    }
    expect(breaker.state().name).toBe('closed');
  });
});

describe('the token', () => {
  it('never shows in util.inspect of what the handler keeps, its JSON or its errors', async () => {
    const { url, registry } = await start();
    registry.get('payments');
    // The settings are what the handler's closures hold the token in.
    const settings = resolveOptions({ registry, token: TOKEN });
    expect(settings.token?.matches(TOKEN)).toBe(true);
    expect(inspect(settings, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(settings.token)).toBe('"[redacted]"');
    expect(await (await fetch(`${url}breakers`)).text()).not.toContain(TOKEN);
    expect(messageOf(() => createDashboard({ registry, token: TOKEN, maxClients: 0 }))).toBe(
      'createDashboard: option "maxClients" must be an integer >= 1, got 0',
    );
  });

  it('is refused at creation when it could not travel in a header, without repeating it', () => {
    const registry = new BreakerRegistry();
    for (const token of ['with space in it!', '', 'tab\tbed-tab\tbed-tab', 'naïve-naïve-naïve']) {
      const message = messageOf(() => createDashboard({ registry, token }));
      expect(message).toMatch(/option "token" must be a non-empty string of visible ASCII/);
      if (token !== '') expect(message).not.toContain(token);
    }
    expect(() => createDashboard({ registry, token: 12345 as never })).toThrow(
      'createDashboard: option "token" must be a string, got number',
    );
  });

  it('is refused at creation when shorter than 16 characters', () => {
    const registry = new BreakerRegistry();
    expect(() => createDashboard({ registry, token: 'Q' })).toThrow(
      'createDashboard: option "token" must be at least 16 characters: use a random one, e.g. `openssl rand -base64 24`',
    );
    createDashboard({ registry, token: 'sixteen-chars-ok' }).close();
  });
});
