/** `host:port` as gRPC targets and bind addresses spell it: an IPv6 host goes in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
