import { ClamAvScanner, type ClamAvScannerOptions } from '../clamav/clamav-scanner.js';
import { describeClamdAddress as describeAddress } from '../clamav/clamd-address.js';
import type { ClamdEndpoint } from '../clamav/clamd-client.js';
import { findClamd, STANDARD_CLAMD } from '../clamav/find-clamd.js';
import type { Scanner } from '../scanner.js';
import {
  VirusTotalScanner,
  type VirusTotalScannerOptions,
} from '../virustotal/virustotal-scanner.js';
import { clamdAddress } from './clamd-address.js';
import { checkHostResolves } from './host-lookup.js';
import { SetupError } from './setup-error.js';
import { UsageError } from './usage-error.js';

export interface EngineFlags {
  readonly clamav?: string | undefined;
  readonly virustotalKeyEnv?: string | undefined;
  readonly virustotalUrl?: string | undefined;
  readonly virustotalUpload?: boolean | undefined;
  /** Milliseconds a health check may take. */
  readonly timeout: number;
  /** Bytes; when left out, the engine's own limit. */
  readonly maxFileSize?: number | undefined;
}

/** An engine and where it is, for messages. */
export interface Engine {
  readonly scanner: Scanner;
  /**
   * The same engine with the health-check limit as its time limit: an engine that accepts
   * connections and never answers must not hold a health check for a scan's 60 s.
   */
  readonly probe: Scanner;
  readonly where: string;
}

/**
 * The engines the flags ask for, checked at once (a bad address, a missing key: said before
 * any file is looked at), and what is left that needs the network: checking that a host
 * resolves and, when no engine is given, finding the first clamd that answers among
 * `SCANBRIDGE_CLAMAV` (when set and not empty) or the standard places. With no answer, a
 * SetupError that says so: nothing is ever reported clean unscanned.
 */
export function planEngines(
  flags: EngineFlags,
  env: Readonly<Record<string, string | undefined>>,
): () => Promise<Engine[]> {
  const engines: Engine[] = [];
  const resolve: (() => Promise<void>)[] = [];
  if (flags.clamav !== undefined) {
    const spec = flags.clamav;
    const endpoint = clamdAddress(spec);
    resolve.push(() => checkHostResolves(endpoint, `--clamav ${spec}`, flags.timeout));
    engines.push(
      clamav(endpoint, flags, (message) => new UsageError(`--clamav ${spec}: ${message}`)),
    );
  }
  if (flags.virustotalKeyEnv !== undefined) engines.push(virusTotal(flags, env));
  else if (flags.virustotalUrl !== undefined || flags.virustotalUpload === true) {
    throw new UsageError('--virustotal-url and --virustotal-upload need --virustotal-key-env');
  }
  if (engines.length > 0) {
    return async () => {
      for (const check of resolve) await check();
      return engines;
    };
  }
  // An empty variable is an unset one, as a shell's `SCANBRIDGE_CLAMAV= scanbridge` means.
  const fromEnv = env.SCANBRIDGE_CLAMAV === '' ? undefined : env.SCANBRIDGE_CLAMAV;
  if (fromEnv !== undefined) return clamavFromEnv(fromEnv, flags);
  return async () => {
    const local = await findClamd({ timeoutMs: flags.timeout });
    if (local === undefined) {
      throw new SetupError(
        `no engine configured: no clamd answered at ${STANDARD_CLAMD.join(', ')} within ${flags.timeout} ms; give --clamav host[:port]|socket or --virustotal-key-env VAR`,
      );
    }
    return [clamav(local, flags, (message) => new SetupError(message))];
  };
}

/** The clamd `$SCANBRIDGE_CLAMAV` names, once it has answered; a SetupError that names the variable otherwise. */
function clamavFromEnv(spec: string, flags: EngineFlags): () => Promise<Engine[]> {
  const what = `SCANBRIDGE_CLAMAV=${spec}`;
  let endpoint: ClamdEndpoint;
  try {
    endpoint = clamdAddress(spec, 'SCANBRIDGE_CLAMAV');
  } catch (error) {
    throw new SetupError((error as Error).message);
  }
  const engine = clamav(endpoint, flags, (message) => new SetupError(`${what}: ${message}`));
  return async () => {
    await checkHostResolves(endpoint, what, flags.timeout);
    if ((await firstAnswering([engine])) === undefined) {
      throw new SetupError(
        `${what}: no clamd answered there within ${flags.timeout} ms; start it, fix the variable, or give --clamav host[:port]|socket`,
      );
    }
    return [engine];
  };
}

/** The first engine whose health check passes, asking them one after another. */
export async function firstAnswering(engines: readonly Engine[]): Promise<Engine | undefined> {
  for (const engine of engines) {
    const answered = await engine.probe.healthCheck().then(
      () => true,
      () => false,
    );
    if (answered) return engine;
  }
  return undefined;
}

function clamav(
  endpoint: ClamdEndpoint,
  flags: EngineFlags,
  mistake: (message: string) => Error,
): Engine {
  const scan: ClamAvScannerOptions = {
    ...endpoint,
    connectTimeoutMs: 2_000,
    ...(flags.maxFileSize === undefined ? {} : { maxFileSize: flags.maxFileSize }),
  };
  try {
    return {
      scanner: new ClamAvScanner(scan),
      probe: new ClamAvScanner({
        ...endpoint,
        // One limit for the whole ping: a connect that hangs costs it once, not once per try.
        connectTimeoutMs: flags.timeout,
        scanTimeoutMs: flags.timeout,
      }),
      where: `clamd at ${describeAddress(endpoint)}`,
    };
  } catch (error) {
    throw mistake((error as Error).message);
  }
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
// VirusTotal keys are 64 hex digits; a long run of them is a key, not anyone's variable name.
const LOOKS_LIKE_A_KEY = /^[0-9a-f]{32,}$/i;

function virusTotal(flags: EngineFlags, env: Readonly<Record<string, string | undefined>>): Engine {
  const variable = flags.virustotalKeyEnv as string;
  // Someone who passed the key itself must not see it echoed into their terminal and logs.
  if (!VARIABLE_NAME.test(variable) || LOOKS_LIKE_A_KEY.test(variable)) {
    throw new UsageError(
      '--virustotal-key-env takes the name of an environment variable holding the key, not the key: export VT_API_KEY=... and pass --virustotal-key-env VT_API_KEY',
    );
  }
  const apiKey = env[variable];
  if (apiKey === undefined || apiKey.length === 0) {
    throw new SetupError(`--virustotal-key-env: the environment variable ${variable} is not set`);
  }
  const baseUrl = flags.virustotalUrl ?? 'https://www.virustotal.com/api/v3';
  const options: VirusTotalScannerOptions = {
    apiKey,
    baseUrl,
    uploadUnknown: flags.virustotalUpload === true,
  };
  try {
    return {
      scanner: new VirusTotalScanner(options),
      probe: new VirusTotalScanner({ ...options, timeoutMs: flags.timeout }),
      where: `VirusTotal at ${new URL(baseUrl).origin}`,
    };
  } catch (error) {
    // The scanner's messages never contain the key; its option names are the flags' too.
    throw new UsageError(`VirusTotal: ${(error as Error).message}`);
  }
}
