import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CircuitBreaker, Logger } from '@breakwater/core';
import type { Payloads } from './payloads.js';
import { reportFailure } from './report.js';
import { sendError, sendJson } from './respond.js';
import type { Token } from './token.js';

/** The operator actions, by the path segment that asks for them. */
const ACTIONS = {
  open: (breaker) => breaker.forceOpen(),
  close: (breaker) => breaker.forceClose(),
  reset: (breaker) => breaker.reset(),
  disable: (breaker) => breaker.disable(),
} as const satisfies Record<string, (breaker: CircuitBreaker<unknown>) => void>;

type ActionName = keyof typeof ACTIONS;

/**
 * POST breakers/<name>/<action>: the token first, so a caller without it learns nothing, not
 * even which breakers exist; then the action, the name, and the breaker's view once it acted.
 */
export function serveControl(
  req: IncomingMessage,
  res: ServerResponse,
  control: { readonly name: string; readonly action: string },
  token: Token | undefined,
  payloads: Payloads,
  logger: Logger | undefined,
  onActed: () => void,
): void {
  // The request's body means nothing here; read it so the connection can be reused.
  req.resume();
  const refused = refusal(token, req);
  if (refused !== undefined) {
    if (refused.reason !== undefined) {
      // Someone trying the controls without the token, or guessing it: the operators want to
      // know. Never the value sent, nor any part of it.
      log(
        logger,
        'warn',
        {
          method: req.method,
          path: pathOf(req),
          breaker: decoded(control.name) ?? control.name,
          action: control.action,
          reason: refused.reason,
        },
        `dashboard: a control was refused (${refused.reason})`,
      );
    }
    sendError(res, refused.status, refused.error);
    return;
  }
  const { action } = control;
  if (!isAction(action)) {
    sendError(res, 404, `unknown action "${action}": use open, close, reset or disable`);
    return;
  }
  const name = decoded(control.name);
  if (name === undefined) {
    sendError(res, 400, 'the breaker name in the path is not valid URL encoding');
    return;
  }
  const entry = payloads.find(name);
  if (entry === undefined) {
    sendError(res, 404, `no breaker called ${JSON.stringify(name)}`);
    return;
  }
  ACTIONS[action](entry.breaker);
  onActed();
  log(
    logger,
    'info',
    { breaker: name, action },
    `dashboard: an operator asked breaker "${name}" to ${action}`,
  );
  sendJson(res, 200, payloads.view(name, entry));
}

/** A log line that cannot fail the request: the action it tells of has happened already. */
function log(
  logger: Logger | undefined,
  level: 'info' | 'warn',
  fields: Record<string, unknown>,
  message: string,
): void {
  try {
    logger?.[level](fields, message);
  } catch (error) {
    reportFailure(undefined, error, `dashboard: the logger threw on "${message}"`);
  }
}

function decoded(name: string): string | undefined {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

/** The path asked for, without its query (nothing of the token travels in either). */
function pathOf(req: IncomingMessage): string {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const queryAt = url.indexOf('?');
  return queryAt < 0 ? url : url.slice(0, queryAt);
}

function isAction(value: string): value is ActionName {
  return Object.hasOwn(ACTIONS, value);
}

interface Refusal {
  readonly status: number;
  readonly error: string;
  /** What the warning says; none when controls are off (nothing to guess). */
  readonly reason?: 'missing token' | 'wrong token';
}

/** Why a control request is refused; undefined when it may go ahead. */
function refusal(token: Token | undefined, req: IncomingMessage): Refusal | undefined {
  if (token === undefined) return { status: 403, error: 'controls are off: no token configured' };
  const sent = sentToken(req);
  if (sent === undefined) {
    return {
      status: 401,
      error: 'this control needs the token: send it in the X-Breakwater-Token header',
      reason: 'missing token',
    };
  }
  if (!token.matches(sent)) {
    return { status: 403, error: 'the token does not match', reason: 'wrong token' };
  }
  return undefined;
}

function sentToken(req: IncomingMessage): string | undefined {
  const header = req.headers['x-breakwater-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return bearer?.[1];
}
