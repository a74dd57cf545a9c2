import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConfigIssue,
  hashToken,
  loadConfig,
  parseConfig,
} from '../src/config/index.js';
import { locateJsonError } from '../src/config/json-error.js';

const GATEWAY = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HASH = 'a'.repeat(64);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
  mkdirSync(join(dir, 'rules'));
  writeFileSync(join(dir, 'rules', 'one.yar'), 'rule one { condition: true }\n');
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'single.yar'), 'rule single { condition: true }\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function issuesOf(run: () => unknown): readonly ConfigIssue[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('BREAKWATER_GATEWAY_CONFIG');
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

function parse(value: unknown, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(value, { baseDir: dir, env });
}

function issues(value: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  return issuesOf(() => parse(value, env)).map((i) => `${i.path}: ${i.message}`);
}

describe('defaults', () => {
  it('fills every default when nothing is given', async () => {
    const config = await loadConfig(undefined, {}, { cwd: dir });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      limits: {
        maxFileSize: 256 * 1024 * 1024,
        maxFiles: 16,
        bodyTimeoutMs: 120_000,
        idleTimeoutMs: 10_000,
      },
      spicedb: {
        endpoint: '127.0.0.1:50051',
        token: undefined,
        insecure: true,
        applySchema: false,
        timeoutMs: 1_000,
        breaker: {},
        cache: { freshMs: 30_000, ttlMs: 300_000, maxEntries: 10_000 },
        fallback: 'cached-else-deny',
      },
      scan: { mode: 'all', timeoutMs: 30_000, spoolDir: tmpdir() },
      policy: 'default',
      quarantine: { dir: join(dir, 'quarantine') },
      tokens: [],
      dashboard: { enabled: true, token: undefined, allowedHosts: [] },
      metrics: { enabled: true },
    });
    // The shipped rules, found from this module's place in the package.
    expect(config.engines).toEqual([
      {
        type: 'yara',
        name: 'yara',
        rules: { dir: join(GATEWAY, 'rules') },
        maxFileSize: undefined,
        breaker: {},
      },
    ]);
  });

  it('defaults each engine type its name, and clamav its address', () => {
    const config = parse(
      {
        engines: [{ type: 'yara' }, { type: 'clamav' }, { type: 'virustotal' }],
      },
      { VT_API_KEY: 'vt-key-123' },
    );
    expect(config.engines.map((e) => e.name)).toEqual(['yara', 'clamav', 'virustotal']);
    expect(config.engines[0]).toMatchObject({ rules: { dir: join(GATEWAY, 'rules') } });
    expect(config.engines[1]).toMatchObject({
      address: '127.0.0.1:3310',
      endpoint: { host: '127.0.0.1', port: 3310 },
    });
    expect(config.engines[2]).toMatchObject({ baseUrl: undefined });
  });

  it("reads clamd addresses as scanbridge's --clamav does", () => {
    const config = parse({
      engines: [
        { type: 'clamav', name: 'a', address: 'clamd.internal' },
        { type: 'clamav', name: 'b', address: '[::1]:3311' },
        { type: 'clamav', name: 'c', address: 'clamd:3312' },
        { type: 'clamav', name: 'd', address: '/run/clamav/clamd.ctl' },
      ],
    });
    expect(config.engines.map((e) => (e.type === 'clamav' ? e.endpoint : undefined))).toEqual([
      { host: 'clamd.internal', port: 3310 },
      { host: '::1', port: 3311 },
      { host: 'clamd', port: 3312 },
      { socketPath: '/run/clamav/clamd.ctl' },
    ]);
  });

  it('makes SpiceDB plaintext only on loopback unless told', () => {
    const remote = parse(
      { spicedb: { endpoint: 'spicedb.internal:50051' } },
      { SPICEDB_TOKEN: 'k' },
    );
    expect(remote.spicedb.insecure).toBe(false);
    const v6 = parse({ spicedb: { endpoint: '[::1]:50051' } });
    expect(v6.spicedb.insecure).toBe(true);
    const forced = parse({ spicedb: { endpoint: 'localhost:50051', insecure: false } });
    expect(forced.spicedb.insecure).toBe(false);
  });
});

describe('paths', () => {
  it('resolves relative paths against the configuration file, not the working directory', async () => {
    const sub = join(dir, 'etc');
    mkdirSync(sub, { recursive: true });
    const file = join(sub, 'gateway.json');
    writeFileSync(
      file,
      JSON.stringify({
        engines: [
          { type: 'yara', rules: { dir: '../rules' } },
          { type: 'yara', name: 'single', rules: { file: '../single.yar' } },
          { type: 'clamav', address: './clamd.sock' },
        ],
        quarantine: { dir: 'held' },
        scan: { spoolDir: 'spool' },
      }),
    );
    const config = await loadConfig('etc/gateway.json', {}, { cwd: dir });
    expect(config.scan.spoolDir).toBe(join(sub, 'spool'));
    expect(config.engines[0]).toMatchObject({ rules: { dir: join(dir, 'rules') } });
    expect(config.engines[1]).toMatchObject({ rules: { file: join(dir, 'single.yar') } });
    expect(config.engines[2]).toMatchObject({
      address: join(sub, 'clamd.sock'),
      endpoint: { socketPath: join(sub, 'clamd.sock') },
    });
    expect(config.quarantine.dir).toBe(join(sub, 'held'));
  });

  it('refuses a quarantine or spool directory that is a file', () => {
    expect(issues({ quarantine: { dir: 'single.yar' }, scan: { spoolDir: 'single.yar' } })).toEqual(
      [
        `scan.spoolDir: ${join(dir, 'single.yar')} exists and is not a directory`,
        `quarantine.dir: ${join(dir, 'single.yar')} exists and is not a directory`,
      ],
    );
  });

  it('resolves against the working directory without a file', async () => {
    const config = await loadConfig(undefined, {}, { cwd: '/srv/gw' });
    expect(config.quarantine.dir).toBe('/srv/gw/quarantine');
  });

  it('follows a symlinked rules directory', () => {
    const link = join(dir, 'linked-rules');
    symlinkSync(join(dir, 'rules'), link);
    const config = parse({ engines: [{ type: 'yara', rules: { dir: 'linked-rules' } }] });
    expect(config.engines[0]).toMatchObject({ rules: { dir: link } });
  });
});

describe('issues', () => {
  it('reports every problem of one file at once, each under its path', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        limits: { maxFileSize: '10MB' },
        engines: [
          { type: 'yara', rules: { dir: 'rules' } },
          { type: 'yara', name: 'b', rules: { file: 'x.yar' } },
        ],
        tokens: [{ sha256: 'abc', subject: 'user:alice' }],
        spicedb: { endpoint: 'spicedb' },
        fooBar: true,
      }),
    );
    const error = await loadConfig(file, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const { issues: found, message } = error as ConfigError;
    expect(found.map((i) => i.path).sort()).toEqual([
      'engines[1].rules',
      'fooBar',
      'limits.maxFileSize',
      'spicedb.endpoint',
      'tokens[0].sha256',
    ]);
    expect(message.split('\n')).toEqual(found.map((i) => `${file}: ${i.path}: ${i.message}`));
    expect(message).toContain(`${file}: engines[1].rules: file not found: ${join(dir, 'x.yar')}`);
    expect(message).toContain(`${file}: limits.maxFileSize: must be an integer >= 1, got "10MB"`);
    expect(message).toContain(`${file}: tokens[0].sha256: must be 64 hex digits`);
    expect(message).toContain(`${file}: spicedb.endpoint: must be host:port`);
  });

  it('names unknown keys at every level, with the option they most likely meant', () => {
    expect(
      issues({
        prot: 1,
        limits: { maxFilesize: 1 },
        spicedb: { breaker: { failureTreshold: 3 }, cache: { ttl: 5 } },
        engines: [{ type: 'clamav', adress: 'x' }],
        tokens: [{ sha256: HASH, subject: 'user:a', tenat: 'acme' }],
        dashboard: { zzz: 1 },
      }),
    ).toEqual([
      'prot: unknown option (did you mean port?)',
      'limits.maxFilesize: unknown option (did you mean maxFileSize?)',
      'spicedb.cache.ttl: unknown option (did you mean ttlMs?)',
      'spicedb.breaker.failureTreshold: unknown option (did you mean failureThreshold?)',
      'engines[0].adress: unknown option (did you mean address?)',
      'tokens[0].tenat: unknown option (did you mean tenant?)',
      'dashboard.zzz: unknown option; the options here are enabled, tokenEnv, allowedHosts',
    ]);
  });

  it('refuses a value that is not an object where one belongs', () => {
    const error = (() => {
      try {
        parseConfig([1], { baseDir: dir, env: {} });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.issues).toEqual([{ path: '', message: 'must be an object, got an array' }]);
    expect(error?.message).toBe('configuration: must be an object, got an array');
    expect(issues({ limits: 5, engines: [null] })).toEqual([
      'limits: must be an object, got 5',
      'engines[0]: must be an object like { "type": "yara" }, got null',
    ]);
  });

  it('reads how long a cached allow stands in while SpiceDB answers', () => {
    expect(parse({ spicedb: { cache: { freshMs: 2_000 } } }).spicedb.cache).toEqual({
      freshMs: 2_000,
      ttlMs: 300_000,
      maxEntries: 10_000,
    });
  });

  it('checks numbers, booleans and choices', () => {
    expect(
      issues({
        port: 70_000,
        host: 'not a host',
        limits: { maxFiles: 0, bodyTimeoutMs: 1.5, idleTimeoutMs: 2 ** 31 },
        scan: { mode: 'any', timeoutMs: -1 },
        metrics: { enabled: 'yes' },
        spicedb: { fallback: 'allow', applySchema: 1, cache: { freshMs: 0 } },
      }),
    ).toEqual([
      'host: must be an IP address or a host name, got "not a host"',
      'port: must be an integer from 0 to 65535, got 70000',
      'limits.maxFiles: must be an integer >= 1, got 0',
      'limits.bodyTimeoutMs: must be an integer from 1 to 2147483647, got 1.5',
      'limits.idleTimeoutMs: must be an integer from 1 to 2147483647, got 2147483648',
      'spicedb.applySchema: must be true or false, got 1',
      'spicedb.cache.freshMs: must be an integer from 1 to 2147483647, got 0',
      'spicedb.fallback: must be "cached-else-deny" or "deny", got "allow"',
      'scan.mode: must be "all" or "first-success", got "any"',
      'scan.timeoutMs: must be an integer from 1 to 2147483647, got -1',
      'metrics.enabled: must be true or false, got "yes"',
    ]);
  });

  it('checks breaker options with core, under their paths', () => {
    expect(
      issues({
        spicedb: { breaker: { failureThreshold: 0, timeout: 5000, halfOpenMaxWait: 100 } },
        engines: [
          {
            type: 'yara',
            breaker: { jitter: { fraction: 2 }, window: { type: 'count', size: 0, sise: 1 } },
          },
          { type: 'clamav', breaker: { window: { type: 'sliding' }, openDuration: 'long' } },
        ],
      }),
    ).toEqual([
      'spicedb.breaker.failureThreshold: must be an integer >= 1, got 0',
      'engines[0].breaker.window.sise: unknown option (did you mean size?)',
      'engines[0].breaker.jitter.fraction: must be a number from 0 to 1, got 2',
      'engines[0].breaker.window.size: must be an integer >= 1, got 0',
      "engines[1].breaker.window: must be { type: 'count', ... } or { type: 'time', ... }, got \"sliding\"",
      'engines[1].breaker.openDuration: must be a number of milliseconds, got "long"',
    ]);
    // Valid apart, refused together: core's rule that a probe may run its own timeout.
    expect(issues({ spicedb: { breaker: { timeout: 5000, halfOpenMaxWait: 100 } } })).toEqual([
      'spicedb.breaker.halfOpenMaxWait: (100) must be at least "timeout" (5000): a probe would be cut short before its own time limit; raise halfOpenMaxWait or omit it',
    ]);
  });

  it('passes valid breaker options through as given', () => {
    const breaker = {
      failureThreshold: 3,
      openDuration: 5_000,
      timeout: 500,
      window: { type: 'count', size: 20, failureRateThreshold: 0.5 },
    };
    expect(parse({ spicedb: { breaker } }).spicedb.breaker).toEqual(breaker);
  });

  it('checks engines: type, unique names, rules, addresses', () => {
    expect(
      issues({
        engines: [
          { type: 'yara', rules: { dir: 'empty' } },
          { type: 'yara', name: 'two', rules: { dir: 'nowhere' } },
          { type: 'yara', name: 'three', rules: { dir: 'single.yar' } },
          { type: 'yara', name: 'four', rules: { file: 'rules' } },
          { type: 'yara', name: 'five', rules: { path: 'x' } },
          { type: 'sophos' },
          { type: 'clamav', address: 'host:99999' },
          { type: 'clamav', name: 'clamav-v6', address: '[::1]:3310' },
          { type: 'clamav', name: 'yara' },
        ],
      }),
    ).toEqual([
      `engines[0].rules: no *.yar or *.yara file in ${join(dir, 'empty')}`,
      `engines[1].rules: directory not found: ${join(dir, 'nowhere')}`,
      `engines[2].rules: ${join(dir, 'single.yar')} is not a directory (for one rule file, use { "file": ... })`,
      `engines[3].rules: ${join(dir, 'rules')} is not a file (for a directory of rules, use { "dir": ... })`,
      'engines[4].rules: must be rule text, { "file": "<path>" } or { "dir": "<path>" }, got an object with keys path',
      'engines[5].type: must be one of "yara", "clamav", "virustotal", got "sophos"',
      'engines[6].address: must be host, host:port, [v6]:port (port 1 to 65535) or a unix socket path (anything with a "/"), got "host:99999"',
      'engines[8].name: "yara" is already the name of engines[0]; engine names must be unique (give one a "name")',
    ]);
    expect(issues({ engines: [] })).toEqual([
      'engines: must hold at least one engine (leave it out for the shipped YARA rules)',
    ]);
  });

  it('takes inline rule text as it is', () => {
    const rules = 'rule x { condition: true }';
    expect(
      parse({ engines: [{ type: 'yara', rules, maxFileSize: 1024 }] }).engines[0],
    ).toMatchObject({
      rules,
      maxFileSize: 1024,
    });
  });

  it('checks tokens: hash, subject, tenant, duplicates', () => {
    const upper = 'AB'.repeat(32);
    expect(
      issues({
        tokens: [
          { sha256: upper, subject: 'user:alice', tenant: 'acme' },
          { sha256: upper.toLowerCase(), subject: 'user:bob' },
          { sha256: HASH, subject: 'alice' },
          { sha256: 'b'.repeat(64), subject: 'U:alice' },
          { sha256: 'c'.repeat(64), subject: 'user:al ice' },
          { sha256: 'd'.repeat(64), subject: 'user:x', tenant: 'a/b' },
          { subject: 'user:y' },
        ],
      }),
    ).toEqual([
      'tokens[1].sha256: the same token as tokens[0]; each token must stand for one subject',
      'tokens[2].subject: must be a SpiceDB subject type:id, like "user:alice"',
      'tokens[3].subject: the type "U" is not one SpiceDB accepts: 3 to 64 lowercase letters, digits and _, starting with a letter, not ending with _',
      'tokens[4].subject: the id "al ice" is not one SpiceDB accepts: 1 to 1024 letters, digits and / _ | - = +',
      'tokens[5].tenant: must be a tenant id: 1 to 1024 letters, digits and _ | - = + (SpiceDB\'s id rule, without /, since it is a path segment), got "a/b"',
      'tokens[6].sha256: must be 64 hex digits, got undefined',
    ]);
  });

  it("refuses a subject type the gateway's schema gives no tenant permission to", () => {
    expect(
      issues({
        tokens: [
          { sha256: 'a'.repeat(64), subject: 'service:ci' },
          { sha256: 'b'.repeat(64), subject: 'tenant:acme' },
          { sha256: 'c'.repeat(64), subject: 'user:ci' },
        ],
      }),
    ).toEqual([
      'tokens[0].subject: the gateway\'s schema (schema/schema.zed) grants tenant permissions to subjects of type user only, not "service"',
      'tokens[1].subject: the gateway\'s schema (schema/schema.zed) grants tenant permissions to subjects of type user only, not "tenant"',
    ]);
  });

  it('turns each token hash into its 32 bytes, whatever the case of its hex', () => {
    const token = 'a-token-of-the-caller';
    const digest = hashToken(token);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const config = parse({
      tokens: [{ sha256: digest.toUpperCase(), subject: 'user:alice', tenant: 'acme' }],
    });
    expect(config.tokens).toEqual([
      { sha256: Buffer.from(digest, 'hex'), subject: 'user:alice', tenant: 'acme' },
    ]);
  });

  it("checks a policy with scanbridge's PolicyEngine, its message under policy", () => {
    expect(issues({ policy: 'lenient' })).toEqual([
      'policy: must be "default", "strict" or a policy object { "defaultAction": ..., "rules": [...] }, got "lenient"',
    ]);
    expect(issues({ policy: { rules: [{ id: 'x' }] } })).toEqual([
      'policy: Invalid policy at rules[0] ("x").action: an action must be an object like { "type": "block", "reason": "..." }, got undefined',
    ]);
    const policy = {
      defaultAction: { type: 'block', reason: 'nothing allowed it' },
      rules: [
        {
          id: 'allow-clean',
          action: { type: 'allow' },
          conditions: [{ type: 'outcome_is', outcome: 'clean' }],
        },
      ],
    };
    expect(parse({ policy }).policy).toEqual(policy);
    expect(parse({ policy: 'strict' }).policy).toBe('strict');
  });
});

describe('secrets', () => {
  const SPICEDB_KEY = 'spicedb-preshared-key-9f8e7d';
  const VT_KEY = 'vt-api-key-0a1b2c3d4e5f';
  const DASHBOARD_KEY = 'dashboard-admin-token-5566';

  it('reads them from the variables the file names, and never shows them', () => {
    const config = parse(
      {
        spicedb: { endpoint: 'spicedb.internal:50051', tokenEnv: 'MY_SPICEDB' },
        engines: [{ type: 'virustotal', apiKeyEnv: 'MY_VT' }],
        dashboard: { tokenEnv: 'MY_DASHBOARD' },
      },
      { MY_SPICEDB: SPICEDB_KEY, MY_VT: VT_KEY, MY_DASHBOARD: DASHBOARD_KEY },
    );
    const vt = config.engines[0];
    if (vt?.type !== 'virustotal') throw new Error('expected the virustotal engine');
    expect(config.spicedb.token?.reveal()).toBe(SPICEDB_KEY);
    expect(vt.apiKey.reveal()).toBe(VT_KEY);
    expect(config.dashboard.token?.reveal()).toBe(DASHBOARD_KEY);
    expect(config.spicedb.token?.source).toBe('MY_SPICEDB');

    const token = config.spicedb.token;
    const shown = [
      inspect(config, { depth: 10 }),
      inspect(config, { depth: 10, showHidden: true, customInspect: false }),
      JSON.stringify(config),
      String(token),
      `${token}`,
      `${vt.apiKey}`,
      new Error(`failed with ${token}`).message,
    ].join('\n');
    for (const secret of [SPICEDB_KEY, VT_KEY, DASHBOARD_KEY]) expect(shown).not.toContain(secret);
    expect(String(token)).toBe('[secret from MY_SPICEDB]');
    expect(JSON.parse(JSON.stringify(config)).engines[0].apiKey).toBe('[secret from MY_VT]');
    expect(inspect(config.dashboard)).toContain('[secret from MY_DASHBOARD]');
  });

  it('never repeats a secret in an issue', () => {
    const found = issues(
      {
        spicedb: { tokenEnv: SPICEDB_KEY },
        engines: [{ type: 'virustotal', apiKeyEnv: 'MY_VT' }],
        dashboard: { tokenEnv: 'MY_DASHBOARD' },
        tokens: [{ sha256: VT_KEY, subject: 'user:a' }],
      },
      { MY_VT: `${VT_KEY} x`, MY_DASHBOARD: 'short-secret' },
    );
    expect(found).toEqual([
      'spicedb.tokenEnv: must name an environment variable (letters, digits and _, not starting with a digit); the value is not shown, in case it is the secret itself',
      'engines[0].apiKeyEnv: environment variable MY_VT holds a space, control or non-ASCII character, which a header cannot carry (its value is not shown)',
      'tokens[0].sha256: must be 64 hex digits, the sha256 of the token (`breakwater-gateway hash-token` prints it); the value is not shown, in case it is the token itself',
      'dashboard.tokenEnv: environment variable MY_DASHBOARD holds 12 characters; at least 16 are needed (use a random one, e.g. `openssl rand -base64 24`)',
    ]);
    const text = found.join('\n');
    for (const secret of [SPICEDB_KEY, VT_KEY, 'short-secret']) expect(text).not.toContain(secret);
  });

  it('requires a VirusTotal key, and a SpiceDB key off this machine', () => {
    expect(
      issues({
        spicedb: { endpoint: 'spicedb.internal:50051' },
        engines: [{ type: 'yara' }, { type: 'clamav' }, { type: 'virustotal', name: 'vt' }],
      }),
    ).toEqual([
      'spicedb.tokenEnv: environment variable SPICEDB_TOKEN is not set; a SpiceDB at spicedb.internal:50051, off this machine, needs its preshared key',
      'engines[2].apiKeyEnv: environment variable VT_API_KEY is not set',
    ]);
    expect(parse({ spicedb: { endpoint: '127.0.0.2:50051' } }).spicedb.token).toBeUndefined();
    expect(issues({}, { SPICEDB_TOKEN: '' })).toEqual([
      'spicedb.tokenEnv: environment variable SPICEDB_TOKEN is set but empty',
    ]);
  });

  it('refuses to write the schema without a key', () => {
    expect(issues({ spicedb: { applySchema: true } })).toEqual([
      "spicedb.applySchema: writing the schema needs SpiceDB's preshared key, and environment variable SPICEDB_TOKEN is not set",
    ]);
    expect(
      parse({ spicedb: { applySchema: true } }, { SPICEDB_TOKEN: 'k' }).spicedb.applySchema,
    ).toBe(true);
  });

  it('takes the host names the dashboard answers to besides loopback and IP addresses', () => {
    expect(parse({}).dashboard.allowedHosts).toEqual([]);
    expect(
      parse({ dashboard: { allowedHosts: ['Gateway.Example.com', 'ops.corp.'] } }).dashboard
        .allowedHosts,
    ).toEqual(['gateway.example.com', 'ops.corp']);
    expect(
      issues({ dashboard: { allowedHosts: ['gateway.example.com:8080', '', 7, 'a b'] } }),
    ).toEqual([
      'dashboard.allowedHosts[0]: must be a host name without a port, like "gateway.example.com", got "gateway.example.com:8080"',
      'dashboard.allowedHosts[1]: must be a host name without a port, like "gateway.example.com", got ""',
      'dashboard.allowedHosts[2]: must be a host name without a port, like "gateway.example.com", got 7',
      'dashboard.allowedHosts[3]: must be a host name without a port, like "gateway.example.com", got "a b"',
    ]);
    expect(issues({ dashboard: { allowedHosts: 'gateway.example.com' } })).toEqual([
      'dashboard.allowedHosts: must be an array, got "gateway.example.com"',
    ]);
  });

  it('leaves the dashboard read-only when its variable is unset, and refuses an empty one', () => {
    expect(parse({ dashboard: { tokenEnv: 'NOT_SET' } }).dashboard.token).toBeUndefined();
    expect(issues({ dashboard: { tokenEnv: 'DASH' } }, { DASH: '' })).toEqual([
      'dashboard.tokenEnv: environment variable DASH is set but empty',
    ]);
  });

  it("checks a VirusTotal baseUrl with the scanner's own rules, never quoting it", () => {
    expect(
      issues(
        { engines: [{ type: 'virustotal', baseUrl: 'http://vt.example.com/api/v3' }] },
        { VT_API_KEY: VT_KEY },
      ),
    ).toEqual([
      'engines[0].baseUrl: must use https (plain http only to a loopback address), got http://vt.example.com',
    ]);
    const config = parse(
      { engines: [{ type: 'virustotal', baseUrl: 'http://127.0.0.1:9999/api/v3' }] },
      { VT_API_KEY: VT_KEY },
    );
    expect(config.engines[0]).toMatchObject({ baseUrl: 'http://127.0.0.1:9999/api/v3' });
  });
});

describe('files', () => {
  it('names the file, line and column of a JSON syntax error', async () => {
    const file = join(dir, 'syntax.json');
    writeFileSync(file, '{\n  "port": 8080,\n}\n');
    const error = (await loadConfig(file, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`${file}:3:1: not valid JSON: Expected double-quoted property name`);
  });

  it('places the errors V8 does not position (a missing value, a bad literal) where they are', async () => {
    const cases: [string, string][] = [
      [
        '{\n  "port": ,\n  "host": "127.0.0.1"\n}\n',
        '2:11: not valid JSON: unexpected ","; expected a value',
      ],
      [
        '{\n  "metrics": { "enabled": tru }\n}\n',
        '2:27: not valid JSON: unexpected tru; expected a value',
      ],
      [
        '{\n  "port": 8080,\n  "host": \'x\'\n}\n',
        '3:11: not valid JSON: unexpected "\'"; expected a value',
      ],
    ];
    for (const [text, expected] of cases) {
      const file = join(dir, 'unplaced.json');
      writeFileSync(file, text);
      const error = (await loadConfig(file, {}).catch((e: unknown) => e)) as ConfigError;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(`${file}:${expected}`);
    }
  });

  it('finds the spot V8 names wherever V8 names one, and nothing in valid JSON', () => {
    const valid = [
      '{}',
      '[]',
      ' [1, -2.5e+3, "a\\"b", true, false, null, {"k": [{}]}] ',
      '"\\u00e9"',
    ];
    for (const text of valid) expect(locateJsonError(text), text).toBeUndefined();
    for (const text of [
      '{"a": 1,}',
      '[1 2]',
      '{"a" 1}',
      '{"a": 1',
      '[01]',
      '{"a": "\t"}',
      '[1]x',
    ]) {
      let offset: number | undefined;
      try {
        JSON.parse(text);
      } catch (error) {
        const at = /at position (\d+)/.exec((error as Error).message);
        offset = at === null ? text.length : Number(at[1]);
      }
      expect(locateJsonError(text)?.offset, text).toBe(offset);
    }
  });

  it('places an unfinished file at its end', async () => {
    const file = join(dir, 'cut.json');
    writeFileSync(file, '{\n  "port": 8080');
    const error = (await loadConfig(file, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toMatch(new RegExp(`^${file}:2:15: not valid JSON: `));
  });

  it('reads a file saved with a byte-order mark', async () => {
    const file = join(dir, 'bom.json');
    writeFileSync(file, '\ufeff{ "port": 9000 }');
    expect((await loadConfig(file, {})).port).toBe(9000);
  });

  it('says a missing file is missing', async () => {
    const file = join(dir, 'absent.json');
    const error = (await loadConfig(file, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toBe(`${file}: cannot read the configuration: no such file`);
  });

  it('lets overrides decide what depends on them', async () => {
    const file = join(dir, 'remote.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 1, spicedb: { endpoint: 'spicedb.internal:50051' } }),
    );
    // The file's remote SpiceDB needs a key; the flag's loopback one does not.
    const config = await loadConfig(
      file,
      {},
      {
        overrides: { host: '0.0.0.0', port: 9090, spicedbEndpoint: '127.0.0.1:50052' },
      },
    );
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9090,
      spicedb: { endpoint: '127.0.0.1:50052', insecure: true, token: undefined },
    });
  });

  it('parses every shipped example', async () => {
    const env = {
      SPICEDB_TOKEN: 'spicedb-key',
      VT_API_KEY: 'vt-key',
      GATEWAY_DASHBOARD_TOKEN: 'a-dashboard-token-of-24ch',
    };
    for (const name of ['minimal.json', 'full.json', 'production.json']) {
      const config = await loadConfig(join(GATEWAY, 'examples', name), env);
      expect(config.tokens.length).toBeGreaterThan(0);
    }
    const production = await loadConfig(join(GATEWAY, 'examples', 'production.json'), env);
    expect(production.engines.map((e) => e.type)).toEqual(['yara', 'clamav', 'virustotal']);
    expect(production.engines[0]).toMatchObject({ rules: { dir: join(GATEWAY, 'rules') } });
  });
});
