import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { banner } from '../src/demo/banner.js';
import { eicar } from '../src/demo/samples.js';
import { demoRelationships, demoUsers } from '../src/demo/users.js';

describe('the demo users', () => {
  it('are alice, rita, mallory, nina and adam with fresh random tokens, and SpiceDB holds their roles', () => {
    const users = demoUsers();
    expect(users.map((user) => [user.name, user.role, user.uploads])).toEqual([
      ['alice', 'member', 'from-start'],
      ['rita', 'reviewer', 'from-start'],
      ['mallory', 'none', 'from-start'],
      ['nina', 'member', 'from-first-fault'],
      ['adam', 'admin', 'never'],
    ]);
    for (const user of users) {
      expect(user.token.reveal()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // A user logged or inspected by mistake does not give the token away.
      expect(inspect(user)).not.toContain(user.token.reveal());
      expect(JSON.stringify(user)).not.toContain(user.token.reveal());
    }
    expect(new Set(users.map((user) => user.token.reveal())).size).toBe(users.length);
    expect(demoUsers()[0]?.token.reveal()).not.toBe(users[0]?.token.reveal());
    // mallory has no relation at all: every permission check for her says no.
    expect(demoRelationships(users)).toEqual([
      'tenant:demo#member@user:alice',
      'tenant:demo#reviewer@user:rita',
      'tenant:demo#member@user:nina',
      'tenant:demo#admin@user:adam',
    ]);
  });
});

describe('the banner', () => {
  const users = demoUsers();
  const text = banner({
    url: 'http://127.0.0.1:8080',
    dashboardToken: 'dashboard-token-0123456789',
    users,
    engines: ['yara (the shipped rules)'],
    clamd: 'clamd: not found at /run/clamav/clamd.ctl — scanning with YARA only',
    spicedb: 'embedded (pid 42) at 127.0.0.1:1, through a fault proxy at 127.0.0.1:2',
    quarantineDir: '/tmp/breakwater-demo-x/quarantine',
    plan: ['Ctrl-C stops it and prints the summary.'],
  });
  const lines = text.split('\n');
  const token = (name: string): string =>
    users.find((user) => user.name === name)?.token.reveal() ?? '';
  const command = (comment: string): string => {
    const at = lines.findIndex((line) => line.includes(`# ${comment}`));
    return lines[at + 1] ?? '';
  };

  it('gives the URLs, the dashboard token, where clamd was looked for, and each user with role and token', () => {
    expect(text).toContain(
      'dashboard   http://127.0.0.1:8080/dashboard/   admin token (for its controls): dashboard-token-0123456789',
    );
    expect(text).toContain('  clamd: not found at /run/clamav/clamd.ctl — scanning with YARA only');
    expect(text).toContain('(a private temporary directory, removed at exit)');
    for (const user of users) {
      expect(
        lines.some((line) => line.includes(` ${user.role} `) && line.includes(user.token.reveal())),
      ).toBe(true);
    }
  });

  it('has a copy-paste curl command for each thing to try, as the user who may (or may not) do it', () => {
    const scans = 'http://127.0.0.1:8080/v1/tenants/demo/scans';
    expect(command('upload a file as alice')).toBe(
      `  curl -s -H 'Authorization: Bearer ${token('alice')}' -H 'X-Filename: hello.txt' --data-binary 'hello, world' ${scans}`,
    );
    expect(command('the EICAR test file')).toBe(
      `  printf '%s' '${eicar().toString('latin1')}' | curl -s -H 'Authorization: Bearer ${token('alice')}' -H 'X-Filename: eicar.com' --data-binary @- ${scans}`,
    );
    expect(command('the same upload as mallory')).toContain(token('mallory'));
    expect(command('a page with script')).toContain("--data-binary '<!doctype html><script>");
    expect(command('the quarantine, as rita')).toBe(
      `  curl -s -H 'Authorization: Bearer ${token('rita')}' http://127.0.0.1:8080/v1/tenants/demo/quarantine`,
    );
    const release = lines.findIndex((line) => line.includes('# release a quarantined file'));
    expect(lines[release + 1]).toBe(
      `  ID=$(curl -s -H 'Authorization: Bearer ${token('adam')}' http://127.0.0.1:8080/v1/tenants/demo/quarantine | grep -o '"id":"[^"]*"' | head -n 1 | cut -d '"' -f 4)`,
    );
    expect(lines[release + 2]).toBe(
      `  curl -s -X POST -H 'Authorization: Bearer ${token('adam')}' "http://127.0.0.1:8080/v1/tenants/demo/quarantine/$ID/release"`,
    );
    expect(command("clamav-rest-api's endpoint")).toContain(
      `-F FILES=@/etc/hostname http://127.0.0.1:8080/api/v1/scan`,
    );
    // Single quotes hold each value whole in a shell: none may contain one.
    expect(eicar().toString('latin1')).not.toContain("'");
    expect(text.endsWith('Ctrl-C stops it and prints the summary.\n')).toBe(true);
  });
});
