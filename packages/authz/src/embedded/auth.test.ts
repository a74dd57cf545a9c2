import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { presharedKeyCheck } from './auth.js';

const TOKEN = 'tok-5e0c2b7a';

function answer(
  ...values: string[]
): { code: number | undefined; details: string | undefined } | undefined {
  const metadata = new Metadata();
  for (const value of values) metadata.add('authorization', value);
  const refused = presharedKeyCheck(TOKEN)(metadata);
  return refused === undefined ? undefined : { code: refused.code, details: refused.details };
}

describe('presharedKeyCheck, as SpiceDB checks a preshared key', () => {
  it('accepts the key under the bearer scheme in any case', () => {
    expect(answer(`Bearer ${TOKEN}`)).toBeUndefined();
    expect(answer(`bearer ${TOKEN}`)).toBeUndefined();
    expect(answer(`BEARER ${TOKEN}`)).toBeUndefined();
  });

  it('answers UNAUTHENTICATED for a missing, malformed, other-scheme or empty credential', () => {
    const unauthenticated = (details: string) => ({ code: status.UNAUTHENTICATED, details });
    const notBearer = unauthenticated(
      'invalid preshared key: rpc error: code = Unauthenticated desc = Request unauthenticated with bearer',
    );
    expect(answer()).toEqual(notBearer);
    expect(answer('')).toEqual(notBearer);
    expect(answer('Basic dXNlcjpwYXNz')).toEqual(notBearer);
    expect(answer(TOKEN)).toEqual(
      unauthenticated(
        'invalid preshared key: rpc error: code = Unauthenticated desc = Bad authorization string',
      ),
    );
    expect(answer('Bearer')).toEqual(
      unauthenticated(
        'invalid preshared key: rpc error: code = Unauthenticated desc = Bad authorization string',
      ),
    );
    expect(answer('Bearer ')).toEqual(unauthenticated('missing preshared key'));
  });

  it('answers PERMISSION_DENIED for a wrong key, quoting neither key', () => {
    for (const sent of [`Bearer ${TOKEN}x`, `Bearer  ${TOKEN}`, 'Bearer x', `Bearer ${TOKEN} `]) {
      const refused = answer(sent);
      expect(refused).toEqual({
        code: status.PERMISSION_DENIED,
        details: 'invalid preshared key: invalid token',
      });
    }
  });

  it('judges the first authorization value only, as SpiceDB does', () => {
    expect(answer(`Bearer ${TOKEN}`, 'Bearer x')).toBeUndefined();
    expect(answer('Bearer x', `Bearer ${TOKEN}`)?.code).toBe(status.PERMISSION_DENIED);
  });
});
