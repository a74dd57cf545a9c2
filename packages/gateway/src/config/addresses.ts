import { isIP } from 'node:net';
import type { ClamdEndpoint } from '@breakwater/scanbridge';

const CLAMD_PORT = 3310;
// SpiceDbChecker's own rule for its endpoint, so what passes here passes there.
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/;
const CLAMD_TCP = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/;

/** `host:port` or `[v6]:port` with a port from 1 to 65535, as its host and port; undefined if not. */
export function parseHostPort(spec: string): { host: string; port: number } | undefined {
  const match = HOST_PORT.exec(spec);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 1 && port <= 65_535)) return undefined;
  return { host, port };
}

/** A name or address that never leaves this machine. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost') || name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/**
 * clamd's address as scanbridge's `--clamav` reads it: a unix socket is anything with a `/`;
 * otherwise `host`, `host:port` or `[v6]:port`, on clamd's port 3310 when none is given.
 */
export function parseClamdAddress(spec: string): ClamdEndpoint | undefined {
  if (spec.includes('/')) return { socketPath: spec };
  const match = CLAMD_TCP.exec(spec);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined) return undefined;
  const port = match[3] === undefined ? CLAMD_PORT : Number(match[3]);
  return port >= 1 && port <= 65_535 ? { host, port } : undefined;
}
