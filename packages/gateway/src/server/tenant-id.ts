import { GatewayHttpError } from './http-error.js';

// SpiceDB's object-id rule, less `/`: the id is one path segment of the gateway's URLs.
const TENANT_ID = /^[a-zA-Z0-9_|\-=+]{1,1024}$/;

/**
 * The router's limit on one path segment. A tenant id may be 1024 characters (SpiceDB's limit):
 * past Fastify's default 100 it would be refused before the rule could be named.
 */
export const MAX_PARAM_LENGTH = 2048;

/** The tenant id from a path, as SpiceDB will take it; anything else is a 400 naming it. */
export function checkTenantId(value: string): string {
  if (TENANT_ID.test(value)) return value;
  const shown =
    value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}...` : JSON.stringify(value);
  throw new GatewayHttpError(
    400,
    'BREAKWATER_BAD_TENANT',
    `The tenant id ${shown} is not one SpiceDB accepts: use 1 to 1024 letters, digits and _ | - = + (no /)`,
  );
}
