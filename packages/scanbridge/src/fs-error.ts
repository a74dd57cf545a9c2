// The words a person reads first; the code after them is what they would search for.
const WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EISDIR: 'it is a directory',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  ENOSPC: 'no space left on device',
  ENFILE: 'too many open files in the system',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the other end closed the connection',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
};

/** A file system error in words, with its code: `no such file (ENOENT)`. */
export function describeFsError(error: unknown): string {
  const { code, message } = error as Partial<NodeJS.ErrnoException>;
  if (typeof code !== 'string') return error instanceof Error ? error.message : String(error);
  // Node's own text is "CODE: what happened, syscall 'path'": keep the middle.
  const words = WORDS[code] ?? /^[A-Z0-9_]+: ([^,]+)/.exec(message ?? '')?.[1] ?? 'failed';
  return `${words} (${code})`;
}
