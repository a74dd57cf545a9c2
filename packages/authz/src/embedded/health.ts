import { type handleUnaryCall, type ServerErrorResponse, status } from '@grpc/grpc-js';

type Bytes = Buffer;

/** grpc.health.v1.HealthCheckResponse { status: SERVING }, encoded. */
const SERVING = Buffer.from([0x08, 0x01]);

// grpc-go's health server's answers, which SpiceDB's is.
const UNKNOWN: ServerErrorResponse = {
  name: 'Error',
  message: 'unknown service',
  code: status.NOT_FOUND,
  details: 'unknown service',
};
const MALFORMED: ServerErrorResponse = {
  name: 'Error',
  message: 'grpc: error unmarshalling request',
  code: status.INTERNAL,
  details: 'grpc: error unmarshalling request: not a grpc.health.v1.HealthCheckRequest',
};

/**
 * The grpc.health.v1 Check handler: SERVING for the whole server (`""`) and for each of
 * `services`, NOT_FOUND for any other name, as grpc-go's health server answers.
 */
export function healthCheck(services: readonly string[]): handleUnaryCall<Bytes, Bytes> {
  const known = new Set(['', ...services]);
  return (call, callback) => {
    const service = requestedService(call.request);
    if (service === undefined) callback(MALFORMED);
    else if (known.has(service)) callback(null, SERVING);
    else callback(UNKNOWN);
  };
}

/** HealthCheckRequest's `service` (field 1, a string), or undefined if the bytes are not one. */
export function requestedService(bytes: Bytes): string | undefined {
  let service = '';
  let at = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35 && at < bytes.length; shift += 7) {
      const byte = bytes[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (at < bytes.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const wire = tag & 7;
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else if (wire === 2) {
      const length = varint();
      if (length === undefined || at + length > bytes.length) return undefined;
      if (tag >>> 3 === 1) service = bytes.toString('utf8', at, at + length);
      at += length;
    } else {
      return undefined;
    }
  }
  return at === bytes.length ? service : undefined;
}
