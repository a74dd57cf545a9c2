import { createHash, timingSafeEqual } from 'node:crypto';
import { type Metadata, type ServerErrorResponse, status } from '@grpc/grpc-js';

// SpiceDB's words for each refusal, wrapped around go-grpc-middleware's AuthFromMD errors as
// SpiceDB's MustRequirePresharedKey renders them, so clients see what a real server sends.
function refusal(code: status, details: string): ServerErrorResponse {
  return { name: 'Error', message: details, code, details };
}
const NOT_BEARER = refusal(
  status.UNAUTHENTICATED,
  'invalid preshared key: rpc error: code = Unauthenticated desc = Request unauthenticated with bearer',
);
const MALFORMED = refusal(
  status.UNAUTHENTICATED,
  'invalid preshared key: rpc error: code = Unauthenticated desc = Bad authorization string',
);
const EMPTY = refusal(status.UNAUTHENTICATED, 'missing preshared key');
const WRONG = refusal(status.PERMISSION_DENIED, 'invalid preshared key: invalid token');

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * SpiceDB's preshared-key check: the first `authorization` value is split at its first space,
 * the scheme must be `bearer` in any case, and a missing, malformed or empty credential is
 * UNAUTHENTICATED while only a wrong key is PERMISSION_DENIED. Both keys are hashed first so
 * the comparison takes the same time whatever the length or content of the key sent; nothing
 * about the expected key is ever echoed back.
 */
export function presharedKeyCheck(
  token: string,
): (metadata: Metadata) => ServerErrorResponse | undefined {
  const expected = digest(token);
  return (metadata) => {
    const [value] = metadata.get('authorization');
    if (typeof value !== 'string' || value === '') return NOT_BEARER;
    const space = value.indexOf(' ');
    if (space === -1) return MALFORMED;
    if (value.slice(0, space).toLowerCase() !== 'bearer') return NOT_BEARER;
    const sent = value.slice(space + 1);
    if (sent === '') return EMPTY;
    return timingSafeEqual(digest(sent), expected) ? undefined : WRONG;
  };
}
