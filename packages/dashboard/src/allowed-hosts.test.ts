import { describe, expect, it } from 'vitest';
import { hostAllowed } from './allowed-hosts.js';

const none: ReadonlySet<string> = new Set();

describe('hostAllowed', () => {
  it('accepts loopback names and IP literals, with any port', () => {
    for (const host of [
      'localhost',
      'LOCALHOST:8080',
      'localhost.',
      'app.localhost:3000',
      '127.0.0.1',
      '127.8.9.10:1',
      '10.0.0.7:8080',
      '[::1]',
      '[::1]:9000',
      '[fe80::1]:80',
    ]) {
      expect(hostAllowed(host, none), host).toBe(true);
    }
  });

  it('refuses any other name: a rebound attacker domain among them', () => {
    for (const host of [
      'evil.example',
      'evil.example:8080',
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      'localhostx',
      '[::1]x',
      'localhost:80:80',
      '',
    ]) {
      expect(hostAllowed(host, none), host).toBe(false);
    }
  });

  it('accepts the names given, whatever their case or port', () => {
    const allowed = new Set(['dash.internal']);
    expect(hostAllowed('Dash.Internal:9443', allowed)).toBe(true);
    expect(hostAllowed('dash.internal.', allowed)).toBe(true);
    expect(hostAllowed('other.internal', allowed)).toBe(false);
  });

  it('lets a request without Host through: no browser sends one', () => {
    expect(hostAllowed(undefined, none)).toBe(true);
  });
});
