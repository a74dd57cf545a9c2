import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * A loopback port where connecting hangs, as it does to a host that drops packets: a child
 * process listens with a backlog of 1 and never accepts, and two held connections fill the
 * queue, so the kernel drops every later SYN. The child never accepts because its only thread
 * sleeps in Atomics.wait once it has said its port: it holds the socket open and burns no CPU
 * (a busy loop would keep a core busy for the whole test). The sleep ends after `lifetimeMs`,
 * and the child with it, so a test runner that dies without calling close() leaves no child
 * holding a port for good.
 */
export async function saturatedPort(lifetimeMs = 60_000): Promise<{
  port: number;
  /** Once the child has exited, by close() or at the end of its lifetime. */
  exited: Promise<void>;
  close(): void;
}> {
  const script = [
    "const s=require('net').createServer();",
    "s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{",
    'console.log(s.address().port);',
    `setTimeout(()=>{Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,${lifetimeMs});`,
    'process.exit()},20)})',
  ].join('');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (data) => resolve(Number(String(data).trim())));
  });
  // Past the 20 ms, so the child is asleep before the queue is filled.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const held: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve());
      socket.on('error', () => resolve());
      held.push(socket);
    });
  }
  return {
    port,
    exited,
    close() {
      for (const socket of held) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}
