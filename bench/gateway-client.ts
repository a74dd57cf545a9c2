/**
 * Case 12's HTTP client, in a process of its own (forked by gateway-load.ts): in production the
 * callers are other processes, and a client on the gateway's main thread spent a fifth of that
 * thread's CPU, which the gateway's figure would carry. Reads the files once, then per slice the
 * parent asks for uploads them as raw bodies over keep-alive connections, `inFlight` at once,
 * and answers each file's latency and the slice's wall time as measured here.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { ClientReply, ClientRequest } from './gateway-load.js';
import { timeSlice } from './gateway-pool.js';

interface Uploads {
  readonly endpoint: string;
  readonly token: string;
  readonly bodies: readonly Buffer[];
  readonly agent: Agent;
}

/** Far past any upload's p99 (milliseconds): only a gateway that stopped answering reaches it. */
const UPLOAD_TIMEOUT_MS = 30_000;

let uploads: Uploads | undefined;

function reply(message: ClientReply): void {
  process.send?.(message);
}

/** POST one raw body; resolves to the decision the gateway answered for it. */
function post({ endpoint, token, bodies, agent }: Uploads, index: number): Promise<string> {
  const body = bodies[index];
  if (body === undefined) return Promise.reject(new Error(`no file ${index}`));
  return new Promise((resolve, reject) => {
    const req = request(
      endpoint,
      {
        agent,
        method: 'POST',
        // A gateway that stops answering fails the round instead of hanging the bench.
        signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': body.byteLength,
          'x-filename': `file-${index}.bin`,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            return;
          }
          const answer = JSON.parse(text) as { files: { decision: string }[] };
          resolve(answer.files[0]?.decision ?? 'none');
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function handle(message: ClientRequest): Promise<ClientReply> {
  if (message.type === 'setup') {
    const bodies = await Promise.all(message.paths.map((path) => readFile(path)));
    const agent = new Agent({ keepAlive: true, maxSockets: message.sockets });
    uploads = { endpoint: message.endpoint, token: message.token, bodies, agent };
    return { type: 'ready' };
  }
  const ready = uploads;
  if (ready === undefined) throw new Error('a slice was asked for before the setup');
  const slice = await timeSlice(message.indexes, message.inFlight, (i) => post(ready, i));
  return { type: 'ran', ...slice };
}

process.on('message', (message: ClientRequest) => {
  handle(message).then(reply, (error: unknown) =>
    reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
// The parent disconnects when the case is over (or gone): close the sockets, and the process
// has nothing left to wait for.
process.on('disconnect', () => uploads?.agent.destroy());
