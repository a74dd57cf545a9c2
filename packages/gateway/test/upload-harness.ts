import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FilesystemQuarantine,
  ScanManager,
  type Scanner,
  strictPolicy,
} from '@breakwater/scanbridge';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../src/config/types.js';
import {
  ClientGoneError,
  registerUploadParsers,
  type ScannedFile,
  scanUploads,
  serverTimeouts,
  UploadError,
} from '../src/upload/index.js';

/** Built from two halves, so no file in the repository is EICAR itself. */
export const EICAR = `X5O!P%@AP[4\\PZX54(P^)7CC)7}$${'EICAR-STANDARD-ANTIVIRUS'}-TEST-FILE!$H+H*`;
export const EICAR_RULE =
  'rule eicar { strings: $a = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" condition: $a }';

export type Limits = GatewayConfig['limits'];

export const LIMITS: Limits = {
  maxFileSize: 1024 * 1024,
  maxFiles: 4,
  bodyTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
};

/** How a request to the test app ended, as the route saw it. */
export type Outcome =
  | { readonly files: readonly ScannedFile[] }
  | { readonly error: UploadError }
  | { readonly unexpected: unknown };

export interface Dirs {
  readonly root: string;
  readonly spool: string;
  readonly quarantine: string;
  /** What is left in the spool directory (the manager's, and YARA's for files over 1 MiB). */
  spooled(): Promise<string[]>;
  /** The quarantine's files (records and contents), the directory missing meaning none. */
  quarantined(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function makeDirs(): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), 'bw-upload-'));
  const spool = join(root, 'spool');
  const quarantine = join(root, 'quarantine');
  await mkdir(spool);
  return {
    root,
    spool,
    quarantine,
    spooled: () => readdir(spool),
    quarantined: () =>
      readdir(quarantine).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') return [];
        throw error;
      }),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** A manager as the gateway builds one: a policy that quarantines infected files, a quarantine. */
export function buildManager(
  scanners: readonly Scanner[],
  dirs: Dirs,
  maxFileSize = LIMITS.maxFileSize,
): ScanManager {
  const builder = ScanManager.builder()
    .withPolicyEngine(strictPolicy())
    .withQuarantine(new FilesystemQuarantine(dirs.quarantine))
    .withConfig({ spoolDir: dirs.spool, maxFileSize, scanTimeoutMs: 10_000 });
  for (const scanner of scanners) builder.addScanner(scanner);
  return builder.build();
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly port: number;
  /** How the next request still to finish in the route ended (in arrival order). */
  nextOutcome(): Promise<Outcome>;
  close(): Promise<void>;
}

/**
 * A Fastify app as the gateway sets one up for uploads: the server timeouts, the parsers in the
 * scope of the scan routes, `POST /scan` (any field, or a raw body) and `POST /api/v1/scan`
 * (files under FILES), answering an UploadError with its status, and `POST /refused`, which
 * answers 403 without reading the body; plus a JSON route outside that scope, whose body must
 * still be parsed. Scans stop when the client goes away, or with `signal` when one is given.
 */
export async function startApp(
  manager: ScanManager,
  limits: Limits = LIMITS,
  /** The scans' signal in place of the client going away: as the gateway's shutdown is. */
  signal?: AbortSignal,
): Promise<TestApp> {
  const app = Fastify({ ...serverTimeouts(limits) });
  const outcomes: Outcome[] = [];
  const waiting: ((outcome: Outcome) => void)[] = [];
  const record = (outcome: Outcome): void => {
    const waiter = waiting.shift();
    if (waiter === undefined) outcomes.push(outcome);
    else waiter(outcome);
  };
  app.post('/json', async (request) => ({ echo: request.body }));
  await app.register(async (scope) => {
    registerUploadParsers(scope);
    const route =
      (field: string | undefined) => async (request: FastifyRequest, reply: FastifyReply) => {
        const gone = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) gone.abort(new ClientGoneError('the client went away'));
        });
        try {
          const files = await scanUploads(request, {
            manager,
            limits,
            context: { tenantId: 'acme', userId: 'user:alice', source: 'test' },
            field,
            signal: signal ?? gone.signal,
          });
          record({ files });
          return files.map(({ filename, size, scan }) => ({
            filename,
            size,
            decision: scan.decision.action.type,
            quarantineId: scan.quarantineId ?? null,
          }));
        } catch (error) {
          if (!(error instanceof UploadError)) {
            record({ unexpected: error });
            throw error;
          }
          record({ error });
          if (error.retryAfterSeconds !== undefined)
            reply.header('retry-after', String(error.retryAfterSeconds));
          return reply.code(error.statusCode).send({ code: error.code, message: error.message });
        }
      };
    // As the gateway answers a caller without `scan`: before reading a byte of the body.
    scope.post('/refused', async (_request, reply) => reply.code(403).send({ code: 'FORBIDDEN' }));
    scope.post('/scan', route(undefined));
    scope.post('/api/v1/scan', route('FILES'));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    app,
    port: address.port,
    nextOutcome: () =>
      new Promise<Outcome>((resolve) => {
        const ready = outcomes.shift();
        if (ready === undefined) waiting.push(resolve);
        else resolve(ready);
      }),
    close: () => app.close(),
  };
}

/** An HTTP response as a raw socket read it. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Whether the server closed the connection after it. */
  readonly closed: boolean;
}

/**
 * A client on a raw socket, to send what no well-behaved HTTP client would: half a body, a
 * body at 1 byte a second, nothing at all. `response` settles once a whole response has
 * arrived (or the connection closed without one: status 0).
 */
export class RawClient {
  readonly socket: Socket;
  readonly response: Promise<RawResponse>;
  private received = Buffer.alloc(0);

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {
      // A server that closes on an unread upload resets the connection: the response, if
      // any, has arrived by then.
    });
    this.response = new Promise((resolve) => {
      let answered = false;
      const answer = (closed: boolean): void => {
        const parsed = parseResponse(this.received, closed);
        if (parsed === undefined || answered) return;
        answered = true;
        resolve(parsed);
      };
      this.socket.on('data', (data: Buffer) => {
        this.received = Buffer.concat([this.received, data]);
        answer(false);
      });
      this.socket.on('close', () => {
        answer(true);
        if (!answered) {
          answered = true;
          resolve({ status: 0, headers: {}, body: this.received.toString(), closed: true });
        }
      });
    });
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) resolve();
      else this.socket.write(data, () => resolve());
    });
  }

  /** Everything received so far, as text. */
  text(): string {
    return this.received.toString('latin1');
  }

  /** Half-closes: the client has nothing more to send. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once the server closed the connection. */
  closed(): Promise<void> {
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }
}

function parseResponse(received: Buffer, closed: boolean): RawResponse | undefined {
  const text = received.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = received.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  const length = headers['content-length'];
  if (length !== undefined && rest.byteLength < Number(length)) return undefined;
  if (length === undefined && !closed) return undefined;
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: rest.subarray(0, length === undefined ? undefined : Number(length)).toString(),
    closed,
  };
}

/** The head of a POST, every header given; Host is added. Header text is sent byte for byte (latin1). */
export function head(path: string, headers: Record<string, string | number>): Buffer {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  const text = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('\r\n')}\r\n\r\n`;
  return Buffer.from(text, 'latin1');
}

export const BOUNDARY = 'breakwater-test-boundary';

/** One multipart part: a file when `filename` is set, else a text field. */
export function part(
  field: string,
  filename: string | undefined,
  content: string | Buffer,
): Buffer {
  const disposition = `Content-Disposition: form-data; name="${field}"`;
  const headers =
    filename === undefined
      ? disposition
      : `${disposition}; filename="${filename}"\r\nContent-Type: application/octet-stream`;
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\n${headers}\r\n\r\n`),
    typeof content === 'string' ? Buffer.from(content) : content,
    Buffer.from('\r\n'),
  ]);
}

/** A whole multipart body: the parts and the closing boundary. */
export function form(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

export const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

/** Sends a whole request on a fresh connection and reads its response. */
export async function send(
  port: number,
  path: string,
  headers: Record<string, string | number>,
  body: string | Buffer = '',
): Promise<RawResponse> {
  const client = new RawClient(port);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  await client.write(head(path, { 'Content-Length': bytes.byteLength, ...headers }));
  if (bytes.byteLength > 0) await client.write(bytes);
  const response = await client.response;
  client.destroy();
  return response;
}

/** One file of a 200 answer from the test app. */
export interface FileAnswer {
  readonly filename: string;
  readonly size: number;
  readonly decision: string;
  readonly quarantineId: string | null;
}

/** The files of a 200 answer. */
export function answers(response: RawResponse): FileAnswer[] {
  return JSON.parse(response.body) as FileAnswer[];
}

/** The body of a refusal. */
export function refusal(response: RawResponse): { code: string; message: string } {
  return JSON.parse(response.body) as { code: string; message: string };
}
