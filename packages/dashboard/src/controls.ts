import type { IncomingMessage } from 'node:http';
import type { CircuitBreaker } from '@breakwater/core';
import type { Token } from './token.js';

/** The operator actions, by the path segment that asks for them. */
export const ACTIONS = {
  open: (breaker) => breaker.forceOpen(),
  close: (breaker) => breaker.forceClose(),
  reset: (breaker) => breaker.reset(),
  disable: (breaker) => breaker.disable(),
} as const satisfies Record<string, (breaker: CircuitBreaker<unknown>) => void>;

export type ActionName = keyof typeof ACTIONS;

export function isAction(value: string): value is ActionName {
  return Object.hasOwn(ACTIONS, value);
}

/** Why a control request is refused, as a status and words; undefined when it may go ahead. */
export function refusal(
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
  const authorization = req.headers.authorization;
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return bearer?.[1];
}
