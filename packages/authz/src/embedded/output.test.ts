import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardOutput, serverEnvironment } from './output.js';

const KEY = 'k3y-output-41d2c9e8';

describe('serverEnvironment', () => {
  const names = ['GRPC_TRACE', 'GRPC_VERBOSITY', 'GRPC_NODE_TRACE', 'GRPC_NODE_VERBOSITY'];
  const saved = new Map(names.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("drops what turns grpc-js tracing on, and keeps the rest of the caller's environment", () => {
    for (const name of names) process.env[name] = 'all';
    const env = serverEnvironment();
    for (const name of names) expect(env[name]).toBeUndefined();
    expect(env.PATH).toBe(process.env.PATH);
    expect(process.env.GRPC_TRACE).toBe('all');
  });
});

describe('forwardOutput', () => {
  it('logs what the process writes with the key cut out, even split across writes, and quotes it so', async () => {
    // Two writes a few milliseconds apart arrive as two chunks, the key cut between them.
    const script = `process.stderr.write('metadata: Bearer ${KEY.slice(0, 7)}');
      setTimeout(() => process.stderr.write('${KEY.slice(7)}\\n'), 20);
      process.stdout.write('plain ${KEY}');`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const logged: { fields: Record<string, unknown>; message: string }[] = [];
    const record = (fields: Record<string, unknown>, message: string): void => {
      logged.push({ fields, message });
    };
    const tail = forwardOutput(child, KEY, { info: record, warn: record, error: record });
    await new Promise((resolve) => child.once('close', resolve));
    const outputs = logged.map((entry) => entry.fields.output).sort();
    expect(outputs).toEqual(['metadata: Bearer [redacted]\n', 'plain [redacted]']);
    expect(logged.every((entry) => entry.message === 'embedded SpiceDB server wrote output')).toBe(
      true,
    );
    expect(logged.every((entry) => entry.fields.pid === child.pid)).toBe(true);
    expect(tail()).toContain('metadata: Bearer [redacted]\n');
    expect(tail()).toContain('plain [redacted]');
    expect(tail()).not.toContain(KEY.slice(0, 7));
  });
});
