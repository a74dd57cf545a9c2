import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput } from '../src/index.js';
import { type FakeBehaviour, useFakeClamd } from './clamd-fake.js';
import { bytes } from './helpers.js';

const fakeClamd = useFakeClamd();

const VERSION = 'ClamAV 9.9.9/1/Thu Jan  1 00:00:00 1970';
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, ms = 45): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await later(2);
}

describe('a VERSION clamd never answers, on a connection of its own (maxSessions 0)', () => {
  it('ends with close(): its connection does not outlive the scanner', async () => {
    const fake = await fakeClamd({ version: null });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 0 });
    const result = await scanner.scan(FileInput.fromBytes(bytes('hello')));
    expect(result.engineVersion).toBe(undefined);
    expect(fake.open()).toBe(1);
    await scanner.close();
    await until(() => fake.open() === 0);
    expect(fake.open()).toBe(0);
  });

  it('once given up, does not stop the next question from being waited for', async () => {
    const behaviour: FakeBehaviour = {
      version: null,
      // The second question's connection (the third in all) answers a moment after the verdict.
      connected(socket, connection) {
        if (connection !== 3) return;
        socket.pause();
        setTimeout(() => socket.resume(), 20);
      },
    };
    const fake = await fakeClamd(behaviour);
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 0 });
    expect((await scanner.scan(FileInput.fromBytes(bytes('one')))).engineVersion).toBe(undefined);
    await scanner.close();
    behaviour.version = VERSION;
    expect((await scanner.scan(FileInput.fromBytes(bytes('two')))).engineVersion).toBe(
      'ClamAV 9.9.9',
    );
    expect(fake.commands.filter((command) => command === 'VERSION')).toHaveLength(2);
    await scanner.close();
  });
});
