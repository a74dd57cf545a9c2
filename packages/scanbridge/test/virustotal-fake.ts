import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach } from 'vitest';

/** A file report the fake returns for GET /files/{sha256}. */
export interface FakeReport {
  readonly stats: Record<string, number>;
  readonly results: Record<
    string,
    { category: string; engine_name: string; result: string | null }
  >;
}

/** One scripted answer, used instead of the normal one for the next matching request. */
export interface ScriptedAnswer {
  readonly status?: number;
  /** A string is sent as is (malformed JSON, say); anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Wait before sending anything. */
  readonly delayMs?: number;
  /** Send the headers and half the body, then wait this long before the rest. */
  readonly stallBodyMs?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly apiKey: string | undefined;
  /** The uploaded file's sha256, for uploads. */
  readonly uploadedSha256?: string;
}

const EICAR_MARK = 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE';

/** What the fake's engines say about uploaded bytes: EICAR is malicious, the rest is clean. */
export function fakeVerdict(content: Buffer): FakeReport {
  if (!content.includes(EICAR_MARK)) {
    return {
      stats: { malicious: 0, suspicious: 0, undetected: 3, harmless: 0, 'type-unsupported': 1 },
      results: {
        Alpha: { category: 'undetected', engine_name: 'Alpha', result: null },
        Beta: { category: 'undetected', engine_name: 'Beta', result: null },
        Gamma: { category: 'undetected', engine_name: 'Gamma', result: null },
        Delta: { category: 'type-unsupported', engine_name: 'Delta', result: null },
      },
    };
  }
  return {
    stats: { malicious: 2, suspicious: 1, undetected: 1, harmless: 0 },
    results: {
      Alpha: { category: 'malicious', engine_name: 'Alpha', result: 'EICAR-Test-File' },
      Beta: { category: 'malicious', engine_name: 'Beta', result: 'EICAR-Test-File' },
      Gamma: { category: 'suspicious', engine_name: 'Gamma', result: 'Heur.Test' },
      Delta: { category: 'undetected', engine_name: 'Delta', result: null },
    },
  };
}

/**
 * A loopback stand-in for VirusTotal's v3 file endpoints: lookups, uploads (direct and through
 * an upload URL), and analyses that stay queued for `pendingPolls` polls. It checks the key,
 * records every request, and plays scripted answers (429s, 5xx, slow or malformed bodies).
 */
export class FakeVirusTotal {
  readonly files = new Map<string, FakeReport>();
  readonly requests: RecordedRequest[] = [];
  /** Polls an analysis answers "queued" before it completes. */
  pendingPolls = 1;
  private readonly server: Server;
  private readonly apiKey: string;
  private readonly scripts: { match: RegExp; answers: ScriptedAnswer[] }[] = [];
  private readonly analyses = new Map<
    string,
    { sha256: string; polls: number; report: FakeReport }
  >();
  private readonly timers = new Set<NodeJS.Timeout>();
  private uploads = 0;

  private constructor(server: Server, apiKey: string) {
    this.server = server;
    this.apiKey = apiKey;
  }

  static async start(apiKey: string): Promise<FakeVirusTotal> {
    const server = createServer();
    const fake = new FakeVirusTotal(server, apiKey);
    server.on('request', (req, res) => {
      fake.handle(req, res).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get baseUrl(): string {
    return `${this.origin}/api/v3`;
  }

  /** The next requests whose path matches answer these, in order. */
  script(match: RegExp, ...answers: ScriptedAnswer[]): void {
    this.scripts.push({ match, answers });
  }

  paths(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const body = await readBody(req);
    const upload = req.method === 'POST' ? uploadedFile(req, body) : undefined;
    const apiKey = req.headers['x-apikey'] as string | undefined;
    this.requests.push({
      method: req.method ?? '',
      path,
      apiKey,
      ...(upload === undefined ? {} : { uploadedSha256: sha256(upload) }),
    });
    const scripted = this.scripts.find((s) => s.match.test(path) && s.answers.length > 0);
    if (scripted !== undefined) return this.play(res, scripted.answers.shift() as ScriptedAnswer);
    if (apiKey !== this.apiKey) {
      // Echoes the key, as a careless proxy might: the client must not repeat it.
      return send(res, 401, {
        error: { code: 'WrongCredentialsError', message: `Wrong API key: ${apiKey}` },
      });
    }
    const file = /^\/api\/v3\/files\/([0-9a-f]{64})$/.exec(path);
    if (req.method === 'GET' && file?.[1] !== undefined) return this.report(res, file[1]);
    if (req.method === 'GET' && path === '/api/v3/files/upload_url') {
      return send(res, 200, { data: `${this.origin}/upload/${++this.uploads}` });
    }
    if (req.method === 'POST' && (path === '/api/v3/files' || path.startsWith('/upload/'))) {
      if (upload === undefined) return send(res, 400, { error: { code: 'BadRequestError' } });
      return this.accept(res, upload);
    }
    const analysis = /^\/api\/v3\/analyses\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && analysis?.[1] !== undefined) {
      return this.analysis(res, decodeURIComponent(analysis[1]));
    }
    send(res, 404, { error: { code: 'NotFoundError', message: `${path} not found` } });
  }

  private report(res: ServerResponse, hash: string): void {
    const report = this.files.get(hash);
    if (report === undefined) {
      send(res, 404, { error: { code: 'NotFoundError', message: `File "${hash}" not found` } });
      return;
    }
    send(res, 200, {
      data: {
        id: hash,
        type: 'file',
        attributes: {
          last_analysis_date: 1_700_000_000,
          last_analysis_stats: report.stats,
          last_analysis_results: report.results,
          sha256: hash,
        },
      },
    });
  }

  private accept(res: ServerResponse, content: Buffer): void {
    const id = Buffer.from(`${sha256(content)}:${this.analyses.size}`).toString('base64');
    this.analyses.set(id, { sha256: sha256(content), polls: 0, report: fakeVerdict(content) });
    send(res, 200, { data: { type: 'analysis', id } });
  }

  private analysis(res: ServerResponse, id: string): void {
    const analysis = this.analyses.get(id);
    if (analysis === undefined) {
      send(res, 404, { error: { code: 'NotFoundError', message: 'no such analysis' } });
      return;
    }
    const { report } = analysis;
    const done = analysis.polls++ >= this.pendingPolls;
    if (done) this.files.set(analysis.sha256, report);
    send(res, 200, {
      data: {
        id,
        type: 'analysis',
        attributes: done
          ? { status: 'completed', stats: report.stats, results: report.results }
          : { status: 'queued', stats: {}, results: {} },
      },
      meta: { file_info: { sha256: analysis.sha256, size: 0 } },
    });
  }

  private play(res: ServerResponse, answer: ScriptedAnswer): void {
    const { status = 200, body = {}, headers = {}, delayMs = 0, stallBodyMs } = answer;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    this.later(delayMs, () => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      if (stallBodyMs === undefined) {
        res.end(text);
        return;
      }
      res.write(text.slice(0, text.length / 2));
      this.later(stallBodyMs, () => res.end(text.slice(text.length / 2)));
    });
  }

  private later(ms: number, run: () => void): void {
    if (ms === 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The `file` part of a multipart/form-data body, as VirusTotal's upload endpoints expect. */
function uploadedFile(req: IncomingMessage, body: Buffer): Buffer | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined) return undefined;
  const delimiter = Buffer.from(`--${marker}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) return undefined;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1 && /name="file"/.test(part.subarray(0, headerEnd).toString())) {
      return part.subarray(headerEnd + 4);
    }
    start = next;
  }
  return undefined;
}

/** A fresh fake for each test, closed after it; call the returned function inside a test. */
export function useFakeVirusTotal(apiKey: string): () => FakeVirusTotal {
  let fake: FakeVirusTotal | undefined;
  beforeEach(async () => {
    fake = await FakeVirusTotal.start(apiKey);
  });
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  return () => {
    if (fake === undefined) throw new Error('useFakeVirusTotal: the fake is read outside a test');
    return fake;
  };
}
