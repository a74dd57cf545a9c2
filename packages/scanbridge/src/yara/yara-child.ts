// The YARA-X scanning process: compiles the rule source it is sent first and scans with the
// binding's synchronous calls, one request at a time, so YARA-X's memory (it reads a file
// whole) and its time are this process's, never its host's. It imports nothing but node:
// modules, the binding and the variables' defaults, so it runs as it is from the built dist
// and, through tsx, from the TypeScript source.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RuleMatch, YaraX } from '@litko/yara-x';
import type { YaraModule } from './yara-module.js';
import type { FromYaraChild, ToYaraChild, YaraMatch, YaraScanMessage } from './yara-protocol.js';
import { COMPILE_OPTIONS } from './yara-variables.js';

const send = process.send?.bind(process);
if (send === undefined) {
  process.stderr.write('yara-child: start it with child_process.fork, it talks over IPC\n');
  process.exit(2);
}

// The host is gone (it exited, crashed or was killed: its end of the channel closed): nobody
// is left to answer, so nothing may outlive it.
process.on('disconnect', () => process.exit(0));

/**
 * The binding makes a JavaScript object of every match before the verdict keeps only the rule:
 * at its default (a million a pattern) an upload made of what a pattern looks for held this
 * process for seconds and hundreds of MB. The verdict needs whether a pattern matched; a rule
 * counting matches (`#a`) sees at most this many.
 */
const MAX_MATCHES_PER_PATTERN = 1000;

let rules: YaraX | undefined;
let failure = 'no rules were sent';

process.on('message', (message: ToYaraChild) => {
  if (message.type === 'rules') {
    compile(message.binding, message.source);
    return;
  }
  send(answer(message));
});

function compile(binding: string, source: string): void {
  try {
    const yara = createRequire(import.meta.url)(binding) as YaraModule;
    const compiled = yara.compile(source, COMPILE_OPTIONS);
    compiled.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
    rules = compiled;
  } catch (error) {
    failure = `the rules did not compile in the scanning process: ${messageOf(error)}`;
  }
}

function answer(request: YaraScanMessage): FromYaraChild {
  const { id } = request;
  if (rules === undefined) return { id, error: failure };
  let target: Buffer | string;
  try {
    target = scanTarget(request);
  } catch (error) {
    return { id, error: messageOf(error), io: true };
  }
  const variables = { ...request.variables };
  try {
    const matches =
      typeof target === 'string'
        ? rules.scanFile(target, variables)
        : rules.scan(target, variables);
    return { id, matches: matches.map(slim) };
  } catch (error) {
    return { id, error: messageOf(error) };
  }
}

/** The bytes to scan, or the path of a private copy that YARA-X reads by itself. */
function scanTarget(request: YaraScanMessage): Buffer | string {
  if (request.bytes !== undefined) {
    const { buffer, byteOffset, byteLength } = request.bytes;
    return Buffer.from(buffer, byteOffset, byteLength);
  }
  const { path, size, sha256 } = request;
  return size === undefined || sha256 === undefined ? path : readAsHashed(path, size, sha256);
}

/**
 * The file, read whole (as YARA-X would read it anyway), if it is still the `size` bytes with
 * this sha256 that the host read and hashed: a file replaced or written to since would get a
 * verdict about bytes nobody hashed.
 */
function readAsHashed(path: string, size: number, sha256: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    // One byte more than expected tells a file that grew.
    const content = Buffer.allocUnsafeSlow(size + 1);
    let read = 0;
    while (read < content.byteLength) {
      const n = readSync(fd, content, read, content.byteLength - read, null);
      if (n === 0) break;
      read += n;
    }
    const same =
      read === size &&
      createHash('sha256').update(content.subarray(0, size)).digest('hex') === sha256;
    if (!same) throw new Error(`${path} changed since it was read and hashed`);
    return content.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** Only what the verdict reads: never the match offsets, which can run to millions. */
function slim(match: RuleMatch): YaraMatch {
  return {
    ruleIdentifier: match.ruleIdentifier,
    namespace: match.namespace,
    meta: plain(match.meta),
    tags: [...match.tags],
  };
}

function plain(meta: unknown): Record<string, unknown> {
  if (typeof meta !== 'object' || meta === null) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    out[key] = typeof value === 'object' && value !== null ? String(value) : value;
  }
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
