import { isIP } from 'node:net';

/**
 * Whether a request's Host header names this dashboard. A DNS-rebinding page reaches a
 * loopback-bound server under the attacker's own host name, so that name is refused; an IP
 * literal or a loopback name cannot be rebound. `allowed` holds further names, lower case.
 * A request with no Host at all (HTTP/1.0) comes from no browser, so it is not refused.
 */
export function hostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (host === undefined) return true;
  const name = hostName(host);
  if (name === undefined) return false;
  if (isIP(name) !== 0) return true;
  return name === 'localhost' || name.endsWith('.localhost') || allowed.has(name);
}

/** The host name of a Host header, lower case, without its port or a final dot. */
function hostName(host: string): string | undefined {
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    const rest = value.slice(end + 1);
    if (end < 0 || (rest !== '' && !/^:\d*$/.test(rest))) return undefined;
    return value.slice(1, end);
  }
  const colon = value.lastIndexOf(':');
  if (colon >= 0 && !/^\d*$/.test(value.slice(colon + 1))) return undefined;
  const name = colon < 0 ? value : value.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
