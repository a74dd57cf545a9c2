import { describe, expect, it } from 'vitest';
import { describeClamdAddress as describeAddress } from '../clamav/clamd-address.js';
import { clamdAddress } from './clamd-address.js';
import { UsageError } from './usage-error.js';

describe('clamdAddress', () => {
  it('reads a host without a port as TCP port 3310, and anything with a "/" as a socket', () => {
    expect(clamdAddress('localhost')).toEqual({ host: 'localhost', port: 3310 });
    expect(clamdAddress('scanner.internal:3311')).toEqual({ host: 'scanner.internal', port: 3311 });
    expect(clamdAddress('[::1]')).toEqual({ host: '::1', port: 3310 });
    expect(clamdAddress('[::1]:3311')).toEqual({ host: '::1', port: 3311 });
    expect(clamdAddress('./clamd.sock')).toEqual({ socketPath: './clamd.sock' });
    expect(clamdAddress('/run/clamav/clamd.ctl')).toEqual({ socketPath: '/run/clamav/clamd.ctl' });
  });

  it('refuses a port past 65535 (or 0), saying so', () => {
    for (const [spec, port] of [
      ['host:0', '0'],
      ['host:65536', '65536'],
      ['[::1]:99999', '99999'],
    ]) {
      expect(() => clamdAddress(spec as string)).toThrow(
        `--clamav ${JSON.stringify(spec)}: the port must be 1 to 65535, got ${port}`,
      );
    }
  });

  it('refuses what is neither, naming the forms it takes', () => {
    for (const spec of ['', '::1', 'host:', 'host:port', '[::1', 'a:1:2']) {
      expect(() => clamdAddress(spec)).toThrow(UsageError);
      expect(() => clamdAddress(spec)).toThrow(
        'expected host, host:port, [ipv6]:port, or a unix socket',
      );
    }
  });

  it('describes an address as it would be written', () => {
    expect(describeAddress(clamdAddress('localhost'))).toBe('localhost:3310');
    expect(describeAddress(clamdAddress('[::1]'))).toBe('[::1]:3310');
    expect(describeAddress(clamdAddress('./clamd.sock'))).toBe('./clamd.sock');
  });
});
