import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CircuitBreaker, Logger } from '@breakwater/core';
import type { Payloads } from './payloads.js';
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
): void {
  // The request's body means nothing here; read it so the connection can be reused.
  req.resume();
  const refused = refusal(token, req);
  if (refused !== undefined) {
    sendError(res, refused.status, refused.error);
    return;
  }
  const { action } = control;
  if (!isAction(action)) {
    sendError(res, 404, `unknown action "${action}": use open, close, reset or disable`);
    return;
  }
  let name: string;
  try {
    name = decodeURIComponent(control.name);
  } catch {
    sendError(res, 400, 'the breaker name in the path is not valid URL encoding');
    return;
  }
  const entry = payloads.find(name);
  if (entry === undefined) {
    sendError(res, 404, `no breaker called ${JSON.stringify(name)}`);
    return;
  }
  ACTIONS[action](entry.breaker);
  logger?.info(
    { breaker: name, action },
    `dashboard: an operator asked breaker "${name}" to ${action}`,
  );
  sendJson(res, 200, payloads.view(name, entry));
}

function isAction(value: string): value is ActionName {
  return Object.hasOwn(ACTIONS, value);
}

/** Why a control request is refused, as a status and words; undefined when it may go ahead. */
function refusal(
  token: Token | undefined,
  req: IncomingMessage,
): { readonly status: number; readonly error: string } | undefined {
  if (token === undefined) return { status: 403, error: 'controls are off: no token configured' };
  const sent = sentToken(req);
  if (sent === undefined) {
    return {
      status: 401,
      error: 'this control needs the token: send it in the X-Breakwater-Token header',
    };
  }
  if (!token.matches(sent)) return { status: 403, error: 'the token does not match' };
  return undefined;
}

function sentToken(req: IncomingMessage): string | undefined {
  const header = req.headers['x-breakwater-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return bearer?.[1];
}
