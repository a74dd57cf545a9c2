// The YARA-X scanning process: compiles the rule source it is sent first and scans with the
// binding's synchronous calls, one request at a time, so YARA-X's memory (it reads a file
// whole) and its time are this process's, never its host's. It imports nothing but node:
// modules, the binding and the variables' defaults, so it runs as it is from the built dist
// and, through tsx, from the TypeScript source.
import { createRequire } from 'node:module';
import type { RuleMatch, YaraX } from '@litko/yara-x';
import type { YaraModule } from './yara-module.js';
import type { FromYaraChild, ToYaraChild, YaraMatch } from './yara-protocol.js';
import { COMPILE_OPTIONS } from './yara-variables.js';

const send = process.send?.bind(process);
if (send === undefined) {
  process.stderr.write('yara-child: start it with child_process.fork, it talks over IPC\n');
  process.exit(2);
}

// The host is gone (it exited, crashed or was killed: its end of the channel closed): nobody
// is left to answer, so nothing may outlive it.
process.on('disconnect', () => process.exit(0));

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
    rules = yara.compile(source, COMPILE_OPTIONS);
  } catch (error) {
    failure = `the rules did not compile in the scanning process: ${messageOf(error)}`;
  }
}

function answer(request: Extract<ToYaraChild, { type: 'scan' }>): FromYaraChild {
  if (rules === undefined) return { id: request.id, error: failure };
  const variables = { ...request.variables };
  try {
    const matches =
      request.path === undefined
        ? rules.scan(
            Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength),
            variables,
          )
        : rules.scanFile(request.path, variables);
    return { id: request.id, matches: matches.map(slim) };
  } catch (error) {
    return { id: request.id, error: messageOf(error) };
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
