import { ClamAvScanner, type ClamAvScannerOptions } from '../clamav/clamav-scanner.js';
import type { Scanner } from '../scanner.js';
import {
  VirusTotalScanner,
  type VirusTotalScannerOptions,
} from '../virustotal/virustotal-scanner.js';
import { clamdAddress, describeAddress } from './clamd-address.js';
import { UsageError } from './usage-error.js';

/** Where clamd usually listens (Debian/Ubuntu, Fedora), then its default TCP port. */
export const STANDARD_CLAMD = [
  '/var/run/clamav/clamd.ctl',
  '/run/clamav/clamd.ctl',
  '/var/run/clamd.scan/clamd.sock',
  '127.0.0.1:3310',
] as const;

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
 * The engines the flags ask for. With none, the first clamd that answers among
 * `SCANBRIDGE_CLAMAV` (when set) or the standard places; with no answer, a UsageError that
 * says no engine is configured: nothing is ever reported clean unscanned.
 */
export async function configureEngines(
  flags: EngineFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Engine[]> {
  const engines: Engine[] = [];
  if (flags.clamav !== undefined) engines.push(clamav(flags.clamav, flags));
  if (flags.virustotalKeyEnv !== undefined) engines.push(virusTotal(flags, env));
  else if (flags.virustotalUrl !== undefined || flags.virustotalUpload === true) {
    throw new UsageError('--virustotal-url and --virustotal-upload need --virustotal-key-env');
  }
  if (engines.length > 0) return engines;
  const candidates = env.SCANBRIDGE_CLAMAV === undefined ? STANDARD_CLAMD : [env.SCANBRIDGE_CLAMAV];
  const local = await firstAnswering(candidates.map((spec) => clamav(spec, flags)));
  if (local === undefined) {
    throw new UsageError(
      `no engine configured: no clamd answered at ${candidates.join(', ')} within ${flags.timeout} ms; give --clamav host[:port]|socket or --virustotal-key-env VAR`,
    );
  }
  return [local];
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

function clamav(spec: string, flags: EngineFlags): Engine {
  const endpoint = clamdAddress(spec);
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
    throw new UsageError(`--clamav ${spec}: ${(error as Error).message}`);
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
    throw new UsageError(`--virustotal-key-env: the environment variable ${variable} is not set`);
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
