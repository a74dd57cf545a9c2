/**
 * An answer the gateway gives on purpose: a status, a stable code a client can branch on, a
 * message a person can act on, and any fields that say more (the permission that was missing).
 * Thrown from a route and turned into `{ error: { code, message, ...fields } }` by the app's
 * error handler; nothing in it ever comes from a stack.
 */
export class GatewayHttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: {
      fields?: Readonly<Record<string, string>>;
      headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.fields = options.fields ?? {};
    this.headers = options.headers ?? {};
  }
}
GatewayHttpError.prototype.name = 'GatewayHttpError';

/** The JSON body of every error answer. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string } & Record<string, string>;
}

export function errorBody(
  code: string,
  message: string,
  fields: Record<string, string> = {},
): ErrorBody {
  // code and message first for a person reading it; the fields never carry either.
  return { error: { code, message, ...fields } };
}
