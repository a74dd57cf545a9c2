import { isIP } from 'node:net';

// SpiceDbChecker's own rule for its endpoint, so what passes here passes there.
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/;

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
