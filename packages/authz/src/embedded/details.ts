// SpiceDB attaches a google.rpc.Status with an ErrorInfo to its refusals; the in-process API's
// errors keep only Go's rendered message, so the two refusals clients branch on most (a
// permission or a definition the schema lacks) get theirs rebuilt from the message's words,
// byte for byte as the engine encodes them on its streams.

const DOMAIN = 'authzed.com';
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const UNKNOWN_RELATION = /^relation\/permission `([^`]+)` not found under definition `([^`]+)`$/;
const UNKNOWN_DEFINITION = /^object definition `([^`]+)` not found$/;

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

// A length-delimited field: a string, bytes or an embedded message.
function field(number: number, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...varint(bytes.length)]), bytes]);
}

function errorInfo(reason: string, metadata: Record<string, string>): Buffer {
  const entries = Object.keys(metadata)
    .sort()
    .map((key) => field(3, Buffer.concat([field(1, key), field(2, metadata[key] as string)])));
  return Buffer.concat([field(1, reason), field(2, DOMAIN), ...entries]);
}

/**
 * The `grpc-status-details-bin` SpiceDB sends with a refusal of `code` saying `message`, for the
 * refusals it can be rebuilt for; undefined for the rest.
 */
export function statusDetails(code: number, message: string): Buffer | undefined {
  let info: Buffer | undefined;
  const relation = UNKNOWN_RELATION.exec(message);
  if (relation !== null) {
    info = errorInfo('ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION', {
      definition_name: relation[2] as string,
      relation_or_permission_name: relation[1] as string,
    });
  }
  const definition = UNKNOWN_DEFINITION.exec(message);
  if (definition !== null) {
    info = errorInfo('ERROR_REASON_UNKNOWN_DEFINITION', {
      definition_name: definition[1] as string,
    });
  }
  if (info === undefined) return undefined;
  const any = Buffer.concat([field(1, ERROR_INFO), field(2, info)]);
  return Buffer.concat([Buffer.from([0x08, ...varint(code)]), field(2, message), field(3, any)]);
}
