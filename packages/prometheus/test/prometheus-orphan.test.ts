import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('the test Prometheus dies with the process that started it, even one killed outright', async () => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const entry = new URL('./prometheus-server.ts', import.meta.url).href;
  const script = `const { startPrometheus } = await import(${JSON.stringify(entry)});
    const server = await startPrometheus([]);
    process.stdout.write(JSON.stringify({ pid: server.pid, dir: server.dir }) + '\\n');
    setInterval(() => {}, 1_000);`;
  const parent = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let started: { pid: number; dir: string } | undefined;
  try {
    started = await new Promise<{ pid: number; dir: string }>((resolve, reject) => {
      parent.stdout.once('data', (data: Buffer) => resolve(JSON.parse(String(data))));
      parent.once('exit', () => reject(new Error('the parent exited before Prometheus was ready')));
    });
    expect(alive(started.pid)).toBe(true);
    // SIGKILL: no afterAll, no exit handler; only the kernel's parent-death signal is left.
    parent.kill('SIGKILL');
    for (let waited = 0; alive(started.pid) && waited < 5_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive(started.pid)).toBe(false);
  } finally {
    parent.kill('SIGKILL');
    if (started !== undefined) {
      if (alive(started.pid)) process.kill(started.pid, 'SIGKILL');
      // The killed parent could not remove the directory: the test does.
      if (existsSync(started.dir)) await rm(started.dir, { recursive: true, force: true });
    }
  }
}, 30_000);
