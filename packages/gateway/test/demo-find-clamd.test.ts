import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findClamd, STANDARD_CLAMD } from '@breakwater/scanbridge';
import { afterAll, describe, expect, it } from 'vitest';
import { useClamd } from '../../scanbridge/test/clamd.js';
import { freePort } from '../../scanbridge/test/clamd-process.js';

const clamd = useClamd();
const servers: Server[] = [];
const held: Socket[] = [];
let dir: string | undefined;

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A listener that accepts connections and never says a word: clamd hung. */
async function silent(): Promise<string> {
  const server = createServer((socket) => held.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('findClamd', () => {
  it('finds a clamd on its unix socket and over TCP, the first that answers in the given order', async () => {
    dir = await mkdtemp(join(tmpdir(), 'find-clamd-'));
    const nowhere = join(dir, 'no-clamd.sock');
    const tcp = `127.0.0.1:${clamd().port}`;
    expect(await findClamd({ candidates: [nowhere, clamd().socketPath, tcp] })).toEqual({
      socketPath: clamd().socketPath,
    });
    expect(await findClamd({ candidates: [nowhere, tcp, clamd().socketPath] })).toEqual({
      host: '127.0.0.1',
      port: clamd().port,
    });
  });

  it('is undefined when nothing answers: refused, missing socket, or a listener that never answers PING', async () => {
    const refused = `127.0.0.1:${await freePort()}`;
    const hung = await silent();
    const started = performance.now();
    expect(
      await findClamd({ timeoutMs: 300, candidates: [refused, '/nonexistent/clamd.sock', hung] }),
    ).toBeUndefined();
    // Asked at once: the hung one costs its timeout once, not a wait per candidate in turn.
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('looks in the standard places by default, socket paths first and clamd TCP port last', async () => {
    expect(STANDARD_CLAMD).toContain('/run/clamav/clamd.ctl');
    expect(STANDARD_CLAMD.at(-1)).toBe('127.0.0.1:3310');
    const found = await findClamd({ timeoutMs: 500 });
    // No system clamd in CI: nothing found; a developer's own clamd is one of the standard places.
    if (found !== undefined) {
      const spec = 'socketPath' in found ? found.socketPath : `${found.host}:${found.port}`;
      expect(STANDARD_CLAMD).toContain(spec);
    }
  });

  it('refuses a bad candidate, an unknown option and a bad timeout by name', async () => {
    await expect(findClamd({ candidates: ['::1'] })).rejects.toThrow(
      'findClamd: option "candidates[0]" must be host, host:port, [ipv6]:port or a unix socket path',
    );
    await expect(findClamd({ candidates: ['host:99999'] })).rejects.toThrow('candidates[0]');
    await expect(findClamd({ timeout: 5 } as never)).rejects.toThrow(
      'findClamd: unknown option "timeout"',
    );
    await expect(findClamd({ timeoutMs: 0 })).rejects.toThrow(
      'findClamd: option "timeoutMs" must be an integer >= 1, got 0',
    );
  });
});
