// The YARA-X worker thread: compiles the rule source it is given and scans with the binding's
// synchronous calls (its scanAsync/scanFileAsync hold the event loop for the whole scan), so
// only this thread waits on YARA-X. It imports nothing but node: modules, the binding and the
// variables' defaults, so it runs as it is from the built dist and, through tsx, from source.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { RuleMatch, YaraX } from '@litko/yara-x';
import type { YaraModule } from './yara-module.js';
import type { FromYaraWorker, ToYaraWorker, YaraMatch, YaraWorkerData } from './yara-protocol.js';
import { COMPILE_OPTIONS } from './yara-variables.js';

const { binding, source } = workerData as YaraWorkerData;
const port = parentPort;
if (port === null) throw new Error('yara-worker: not started as a worker thread');

const yara = createRequire(import.meta.url)(binding) as YaraModule;
let rules: YaraX | undefined;
let failure: string | undefined;
try {
  rules = yara.compile(source, COMPILE_OPTIONS);
} catch (error) {
  failure = `the rules did not compile in the worker: ${messageOf(error)}`;
}

port.on('message', (request: ToYaraWorker) => {
  port.postMessage(answer(request));
});

function answer(request: ToYaraWorker): FromYaraWorker {
  if (rules === undefined) return { id: request.id, error: failure ?? 'no rules' };
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
