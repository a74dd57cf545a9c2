import { ClamAvScanner, type ClamAvScannerOptions } from '../clamav/clamav-scanner.js';
import type { Scanner } from '../scanner.js';
import { VirusTotalScanner } from '../virustotal/virustotal-scanner.js';
import { UsageError } from './usage.js';

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
}

/** An engine and where it is, for messages. */
export interface Engine {
  readonly scanner: Scanner;
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
  if (flags.clamav !== undefined) engines.push(clamav(flags.clamav));
  if (flags.virustotalKeyEnv !== undefined) engines.push(virusTotal(flags, env));
  else if (flags.virustotalUrl !== undefined || flags.virustotalUpload === true) {
    throw new UsageError('--virustotal-url and --virustotal-upload need --virustotal-key-env');
  }
  if (engines.length > 0) return engines;
  const candidates = env.SCANBRIDGE_CLAMAV === undefined ? STANDARD_CLAMD : [env.SCANBRIDGE_CLAMAV];
  const local = await firstAnswering(candidates.map(clamav));
  if (local === undefined) {
    throw new UsageError(
      `no engine configured: no clamd answered at ${candidates.join(', ')}; give --clamav host:port|socket or --virustotal-key-env VAR`,
    );
  }
  return [local];
}

/** The first engine whose health check passes, asking them one after another. */
export async function firstAnswering(engines: readonly Engine[]): Promise<Engine | undefined> {
  for (const engine of engines) {
    const answered = await engine.scanner.healthCheck().then(
      () => true,
      () => false,
    );
    if (answered) return engine;
  }
  return undefined;
}

/** `host:port`, `[v6]:port`, or a unix socket path. */
export function clamav(spec: string): Engine {
  const tcp = /^(?:\[([^\]]+)\]|([^/:]+)):(\d+)$/.exec(spec);
  const options: ClamAvScannerOptions =
    tcp === null
      ? { socketPath: spec, connectTimeoutMs: 2_000 }
      : { host: tcp[1] ?? tcp[2], port: Number(tcp[3]), connectTimeoutMs: 2_000 };
  try {
    return { scanner: new ClamAvScanner(options), where: `clamd at ${spec}` };
  } catch (error) {
    throw new UsageError(`--clamav ${spec}: ${(error as Error).message}`);
  }
}

function virusTotal(flags: EngineFlags, env: Readonly<Record<string, string | undefined>>): Engine {
  const variable = flags.virustotalKeyEnv as string;
  const apiKey = env[variable];
  if (apiKey === undefined || apiKey.length === 0) {
    throw new UsageError(`--virustotal-key-env: the environment variable ${variable} is not set`);
  }
  const baseUrl = flags.virustotalUrl ?? 'https://www.virustotal.com/api/v3';
  try {
    const scanner = new VirusTotalScanner({
      apiKey,
      baseUrl,
      uploadUnknown: flags.virustotalUpload === true,
    });
    return { scanner, where: `VirusTotal at ${new URL(baseUrl).origin}` };
  } catch (error) {
    // The scanner's messages never contain the key; its option names are the flags' too.
    throw new UsageError(`VirusTotal: ${(error as Error).message}`);
  }
}
