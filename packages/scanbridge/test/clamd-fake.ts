import { createServer, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';

/** What the fake saw of one INSTREAM, and where. */
export interface FakeScan {
  readonly content: Buffer;
  /** The connection's number, from 1. */
  readonly connection: number;
  readonly inSession: boolean;
  /** Request number within the session (1 for a connection of its own). */
  readonly request: number;
  readonly socket: Socket;
}

export interface FakeBehaviour {
  /**
   * clamd's reply to a finished INSTREAM (`stream: OK`), or undefined never to answer; may be
   * late (a promise). Default: `stream: OK`.
   */
  scan?(scan: FakeScan): string | undefined | Promise<string | undefined>;
  /** Told of every INSTREAM chunk as it arrives, with the bytes of the stream so far. */
  chunk?(received: number, socket: Socket, request: number): void;
  /** Told of each new connection before anything is read from it. */
  connected?(socket: Socket, connection: number): void;
  /** Answers nothing at all (a server that only floods, say). */
  mute?: boolean;
  /** Answers nothing on the connections it picks (by number, from 1). */
  silent?(connection: number): boolean;
  /** VERSION's answer, or null never to answer it. Default `ClamAV 9.9.9/1/Thu Jan  1 00:00:00 1970`. */
  version?: string | null;
}

/**
 * A clamd stand-in on a free loopback port that speaks enough of the protocol (PING, VERSION,
 * INSTREAM, IDSESSION ... END, NUL-delimited) to misbehave on cue: answer late, out of order,
 * never, before the upload is done, or close a session with scans still in it.
 */
export interface FakeClamd {
  readonly port: number;
  /** Commands in the order they arrived, over every connection. */
  readonly commands: string[];
  readonly scans: FakeScan[];
  /** Connections accepted, and of them, those that opened an IDSESSION. */
  connections(): number;
  sessions(): number;
  /** Connections still open. */
  open(): number;
  close(): Promise<void>;
}

/** A fake clamd for one test: closed after it. */
export function useFakeClamd(): (behaviour?: FakeBehaviour) => Promise<FakeClamd> {
  const started: FakeClamd[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((fake) => fake.close()));
  });
  return async (behaviour = {}) => {
    const fake = await startFakeClamd(behaviour);
    started.push(fake);
    return fake;
  };
}

export async function startFakeClamd(behaviour: FakeBehaviour = {}): Promise<FakeClamd> {
  const commands: string[] = [];
  const scans: FakeScan[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let sessions = 0;
  const server: Server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    behaviour.connected?.(socket, connection);
    serve(socket, connection, behaviour, commands, scans, () => sessions++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    commands,
    scans,
    connections: () => connections,
    sessions: () => sessions,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function serve(
  socket: Socket,
  connection: number,
  behaviour: FakeBehaviour,
  commands: string[],
  scans: FakeScan[],
  sessionOpened: () => void,
): void {
  let pending = Buffer.alloc(0);
  let inSession = false;
  let requests = 0;
  /** Set while an INSTREAM body is arriving. */
  let stream: { request: number; parts: Buffer[]; received: number } | undefined;

  const reply = (request: number, text: string): void => {
    if (socket.destroyed || behaviour.mute === true || behaviour.silent?.(connection) === true)
      return;
    socket.write(inSession ? `${request}: ${text}\0` : `${text}\0`);
    if (!inSession) socket.end();
  };

  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (!socket.destroyed && !socket.writableEnded) {
      if (stream !== undefined) {
        if (pending.byteLength < 4) return;
        const length = pending.readUInt32BE(0);
        if (length === 0) {
          pending = pending.subarray(4);
          const { request, parts } = stream;
          stream = undefined;
          const scan: FakeScan = {
            content: Buffer.concat(parts),
            connection,
            inSession,
            request,
            socket,
          };
          scans.push(scan);
          const answer = behaviour.scan === undefined ? 'stream: OK' : behaviour.scan(scan);
          Promise.resolve(answer).then((text) => {
            if (text !== undefined) reply(request, text);
          });
          continue;
        }
        if (pending.byteLength < 4 + length) return;
        stream.parts.push(pending.subarray(4, 4 + length));
        stream.received += length;
        pending = pending.subarray(4 + length);
        behaviour.chunk?.(stream.received, socket, stream.request);
        continue;
      }
      const end = pending.indexOf(0);
      if (end === -1) return;
      const command = pending.subarray(1, end).toString('latin1');
      pending = pending.subarray(end + 1);
      commands.push(command);
      if (command === 'IDSESSION') {
        inSession = true;
        sessionOpened();
        continue;
      }
      if (command === 'END') {
        socket.end();
        return;
      }
      const request = inSession ? ++requests : 1;
      if (command === 'PING') reply(request, 'PONG');
      else if (command === 'VERSION') {
        const version =
          behaviour.version === undefined
            ? 'ClamAV 9.9.9/1/Thu Jan  1 00:00:00 1970'
            : behaviour.version;
        if (version !== null) reply(request, version);
      } else if (command === 'INSTREAM') stream = { request, parts: [], received: 0 };
      else reply(request, 'UNKNOWN COMMAND');
    }
  });
}
