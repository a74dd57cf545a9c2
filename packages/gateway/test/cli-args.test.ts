import { describe, expect, it } from 'vitest';
import { parseCommand } from '../src/cli/parse-args.js';
import { UsageError } from '../src/cli/usage-error.js';

function usageError(argv: string[]): string {
  try {
    parseCommand(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseCommand', () => {
  it('serves by default, with or without the command name', () => {
    const none = { name: 'serve', config: undefined, overrides: {} };
    expect(parseCommand([])).toMatchObject(none);
    expect(parseCommand(['serve'])).toMatchObject(none);
    expect(parseCommand(['--config', 'gw.json'])).toMatchObject({
      name: 'serve',
      config: 'gw.json',
    });
  });

  it('takes the flags that override the file', () => {
    expect(
      parseCommand([
        'serve',
        '--config=gw.json',
        '--host',
        '0.0.0.0',
        '--port',
        '0',
        '--spicedb',
        '[::1]:50051',
      ]),
    ).toEqual({
      name: 'serve',
      config: 'gw.json',
      overrides: { host: '0.0.0.0', port: 0, spicedbEndpoint: '[::1]:50051' },
    });
  });

  it('reads demo flags, with its defaults', () => {
    expect(parseCommand(['demo'])).toEqual({
      name: 'demo',
      host: '127.0.0.1',
      port: 8080,
      traffic: true,
      durationSeconds: undefined,
    });
    expect(parseCommand(['demo', '--port', '9000', '--no-traffic', '--duration', '20'])).toEqual({
      name: 'demo',
      host: '127.0.0.1',
      port: 9000,
      traffic: false,
      durationSeconds: 20,
    });
    expect(parseCommand(['demo', '--duration=2.5'])).toMatchObject({ durationSeconds: 2.5 });
  });

  it('answers --help and --version wherever they are', () => {
    expect(parseCommand(['--help'])).toEqual({ name: 'help' });
    expect(parseCommand(['demo', '-h'])).toEqual({ name: 'help' });
    expect(parseCommand(['help'])).toEqual({ name: 'help' });
    expect(parseCommand(['serve', '--port', '1', '--version'])).toEqual({ name: 'version' });
    expect(parseCommand(['-V'])).toEqual({ name: 'version' });
    expect(parseCommand(['hash-token'])).toEqual({ name: 'hash-token' });
  });

  it('says what is wrong in one line', () => {
    const cases: [string[], string][] = [
      [
        ['serv'],
        'unknown command "serv" (did you mean serve?); the commands are serve, demo and hash-token',
      ],
      [['launch'], 'unknown command "launch"; the commands are serve, demo and hash-token'],
      [['--prot', '1'], 'unknown option --prot (did you mean --port?)'],
      [
        ['--verbose'],
        'unknown option --verbose; the options of serve are --config, --host, --port, --spicedb',
      ],
      [['demo', '--spicedb', 'x:1'], '--spicedb is an option of serve, not of demo'],
      [['serve', '--no-traffic'], '--no-traffic is an option of demo, not of serve'],
      [['hash-token', '--port', '1'], '--port is an option of serve, not of hash-token'],
      [['hash-token', '--fast'], 'unknown option --fast; hash-token takes no options'],
      [['--port'], '--port needs a value'],
      [
        ['--port', '-1'],
        '--port needs a value (for one that starts with "-", write --port=<value>)',
      ],
      [['--port=-1'], '--port must be a port number from 0 to 65535, got "-1"'],
      [['--port', '65536'], '--port must be a port number from 0 to 65535, got "65536"'],
      [['--port', '80a'], '--port must be a port number from 0 to 65535, got "80a"'],
      [['--host', 'a host'], '--host must be an IP address or a host name, got "a host"'],
      [['--config', ''], '--config is empty (an unset variable?)'],
      [
        ['--spicedb', 'spicedb'],
        '--spicedb must be host:port (or [v6]:port) with a port from 1 to 65535, got "spicedb"',
      ],
      [
        ['--spicedb', 'spicedb:0'],
        '--spicedb must be host:port (or [v6]:port) with a port from 1 to 65535, got "spicedb:0"',
      ],
      [['demo', '--no-traffic=yes'], '--no-traffic takes no value'],
      [
        ['demo', '--duration', '0'],
        '--duration must be a number of seconds above 0 and at most 86400, got "0"',
      ],
      [
        ['demo', '--duration', '10s'],
        '--duration must be a number of seconds above 0 and at most 86400, got "10s"',
      ],
      [['serve', 'gw.json'], 'unexpected argument "gw.json": serve takes only options'],
    ];
    for (const [argv, message] of cases) expect(usageError(argv), argv.join(' ')).toBe(message);
  });

  it('never repeats a token given as an argument', () => {
    const message = usageError(['hash-token', 's3cret-token-value']);
    expect(message).toBe(
      'hash-token takes no arguments: give the token on stdin, where ps and shell history cannot see it',
    );
    expect(message).not.toContain('s3cret');
  });
});
