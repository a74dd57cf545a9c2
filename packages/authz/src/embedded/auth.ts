import { createHash, timingSafeEqual } from 'node:crypto';
import { type Metadata, type ServerErrorResponse, status } from '@grpc/grpc-js';

const MISSING: ServerErrorResponse = {
  name: 'Error',
  message: 'missing preshared key',
  code: status.UNAUTHENTICATED,
  details: 'missing preshared key: send "authorization: Bearer <preshared key>" metadata',
};
const WRONG: ServerErrorResponse = {
  name: 'Error',
  message: 'invalid preshared key',
  code: status.PERMISSION_DENIED,
  details: "invalid preshared key: the bearer token does not match the server's",
};

/**
 * SpiceDB's preshared-key check. Both sides are hashed first so the comparison takes the same
 * time whatever the length or content of the token sent; nothing about the expected token is
 * ever echoed back.
 */
export function presharedKeyCheck(
  token: string,
): (metadata: Metadata) => ServerErrorResponse | undefined {
  const expected = createHash('sha256').update(`Bearer ${token}`).digest();
  return (metadata) => {
    const [value] = metadata.get('authorization');
    if (value === undefined || value === '') return MISSING;
    const sent = createHash('sha256').update(value).digest();
    return timingSafeEqual(sent, expected) ? undefined : WRONG;
  };
}
