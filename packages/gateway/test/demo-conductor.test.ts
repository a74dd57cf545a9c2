import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startPhases } from '../src/demo/conductor.js';
import { type FaultProxy, startFaultProxy } from '../src/demo/fault-proxy.js';
import { FAULTS, type Phase } from '../src/demo/phases.js';
import { ReactionTimeline } from '../src/demo/timeline.js';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function proxied(): Promise<FaultProxy> {
  const server: Server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  const proxy = await startFaultProxy({
    target: `127.0.0.1:${(server.address() as { port: number }).port}`,
  });
  cleanup.push(() => proxy.close());
  return proxy;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('the fault script, run', () => {
  it('applies each fault to its proxy and heals it, in turn, telling the terminal and the timeline', async () => {
    const spicedb = await proxied();
    const clamd = await proxied();
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    const lines: string[] = [];
    const phases: Phase[] = [];
    const modes: string[] = [];
    const timeline = new ReactionTimeline();
    const conductor = startPhases({
      schedule: { firstFaultMs: 20, faultMs: 40, everyMs: 100 },
      faults: FAULTS,
      proxies: { spicedb, clamd },
      breakers: { spicedb: 'spicedb', clamd: 'clamav' },
      timeline,
      elapsed,
      say: (line) => lines.push(line),
      onPhase: (phase) => {
        phases.push(phase);
        modes.push(`${spicedb.mode}/${clamd.mode}`);
        // What the breakers would do, for the timeline to measure.
        const breaker = phase.fault.target === 'spicedb' ? 'spicedb' : 'clamav';
        timeline.stateChanged(breaker, phase.kind === 'fault' ? 'open' : 'closed', elapsed() + 5);
      },
    });
    cleanup.push(() => conductor.stop());
    await until(() => phases.length >= 4);
    await conductor.stop();
    expect(lines.slice(0, 4)).toEqual([
      'fault 1: SpiceDB hangs (its proxy holds every byte, connections stay open)',
      'recovery 1: SpiceDB is back to normal',
      'fault 2: clamd refuses connections (its proxy stops listening)',
      'recovery 2: clamd is back to normal',
    ]);
    expect(modes.slice(0, 4)).toEqual(['pause/pass', 'pass/pass', 'pass/killed', 'pass/pass']);
    expect(phases.slice(0, 4).map((phase) => `${phase.kind} ${phase.number}`)).toEqual([
      'fault 1',
      'recovery 1',
      'fault 2',
      'recovery 2',
    ]);
    const spicedbTimes = timeline.times('spicedb');
    expect(spicedbTimes.toOpenMs).toHaveLength(1);
    expect(spicedbTimes.toCloseMs).toHaveLength(1);
    expect(spicedbTimes.toOpenMs[0]).toBeGreaterThanOrEqual(5);
    expect(timeline.times('clamav').toOpenMs).toHaveLength(1);
  });

  it('starts no phase once stopped', async () => {
    const spicedb = await proxied();
    const lines: string[] = [];
    const conductor = startPhases({
      schedule: { firstFaultMs: 30, faultMs: 10, everyMs: 20 },
      faults: FAULTS.filter((fault) => fault.target === 'spicedb'),
      proxies: { spicedb },
      breakers: { spicedb: 'spicedb', clamd: 'clamav' },
      timeline: new ReactionTimeline(),
      elapsed: () => 0,
      say: (line) => lines.push(line),
    });
    await conductor.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines).toEqual([]);
    expect(spicedb.mode).toBe('pass');
  });
});
