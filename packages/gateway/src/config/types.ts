import type { CircuitBreakerOptions } from '@breakwater/core';
import type { ClamdEndpoint, PolicyJSON } from '@breakwater/scanbridge';

/**
 * The gateway's configuration as the JSON file holds it (`--config`). Every field is optional:
 * the defaults serve on one machine (127.0.0.1:8080, the shipped YARA rules, a SpiceDB on
 * 127.0.0.1:50051). Secrets are never in the file: fields ending in `Env` name the environment
 * variable that holds them.
 */
export interface GatewayConfigFile {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  limits?: {
    /** Per file, in bytes; a larger upload gets 413. Default 256 MiB. */
    maxFileSize?: number;
    /** Files in one multipart request. Default 16. */
    maxFiles?: number;
    /** A request body that does not finish within this many ms gets 408 and is discarded. Default 120 000. */
    bodyTimeoutMs?: number;
    /** A body that sends nothing for this many ms gets 408 (a slow client). Default 10 000. */
    idleTimeoutMs?: number;
  };
  spicedb?: {
    /** `host:port` of SpiceDB's gRPC API. Default `127.0.0.1:50051`. */
    endpoint?: string;
    /** The environment variable holding SpiceDB's preshared key. Default `SPICEDB_TOKEN`. */
    tokenEnv?: string;
    /** Plaintext gRPC (a loopback or sidecar SpiceDB). Default true for a loopback endpoint, false otherwise. */
    insecure?: boolean;
    /** Write the shipped schema on start. Default false. */
    applySchema?: boolean;
    /** Per check, in ms. Default 1 000. */
    timeoutMs?: number;
    /** The SpiceDB breaker's options: core's CircuitBreakerOptions that JSON can say. */
    breaker?: JsonBreakerOptions;
    cache?: {
      /**
       * How long a cached allow stands in for a check while SpiceDB answers, in ms (capped at
       * `ttlMs`): a revoked permission is gone within it. Default 30 000.
       */
      freshMs?: number;
      /** How long an answer is served while SpiceDB is down, in ms. Default 300 000. */
      ttlMs?: number;
      /** Default 10 000. */
      maxEntries?: number;
    };
    /** While SpiceDB cannot answer: `cached-else-deny` (default) or `deny`. */
    fallback?: 'cached-else-deny' | 'deny';
  };
  /** Engines, each behind a breaker of its own. Default: `[{ "type": "yara" }]` (the shipped rules). */
  engines?: EngineConfigFile[];
  scan?: {
    /** `all` (default): every engine; `first-success`: in turn until one answers. */
    mode?: 'all' | 'first-success';
    /** Per engine, in ms. Default 30 000. */
    timeoutMs?: number;
    /**
     * Where an upload past 1 MiB is spooled while it is scanned (removed after), made on start
     * when missing. Default the OS temp directory.
     */
    spoolDir?: string;
  };
  /** `default` (the default), `strict`, or a policy as PolicyEngine.toJSON() writes it. */
  policy?: 'default' | 'strict' | PolicyJSON;
  quarantine?: {
    /** Default `./quarantine`, beside the configuration file (the working directory without one). */
    dir?: string;
  };
  /**
   * Who may call: each API token as the sha256 (hex) of its text, the SpiceDB subject it stands
   * for, and the tenant `POST /api/v1/scan` scans for. Default none (every call gets 401).
   */
  tokens?: TokenConfigFile[];
  dashboard?: {
    /** Default true. */
    enabled?: boolean;
    /** The environment variable holding the dashboard's admin token (controls); unset: read-only. */
    tokenEnv?: string;
    /**
     * Host names (no port) the dashboard answers to besides loopback names, IP addresses and
     * `host`: the name a reverse proxy passes on, or that people browse to. Default none.
     */
    allowedHosts?: string[];
  };
  metrics?: {
    /** `/metrics`; default true. */
    enabled?: boolean;
  };
}

export type JsonBreakerOptions = Pick<
  CircuitBreakerOptions,
  | 'failureThreshold'
  | 'successThreshold'
  | 'halfOpenMaxProbes'
  | 'halfOpenMaxWait'
  | 'timeout'
  | 'jitter'
  | 'window'
> & {
  /** A fixed open duration in ms (core also takes a function; JSON cannot). */
  openDuration?: number;
};

export type EngineConfigFile =
  | {
      type: 'yara';
      /** Default `yara`. */
      name?: string;
      /** Rule text, `{ "file": path }` or `{ "dir": path }`; default the gateway's shipped rules. */
      rules?: string | { file: string } | { dir: string };
      maxFileSize?: number;
      breaker?: JsonBreakerOptions;
    }
  | {
      type: 'clamav';
      /** Default `clamav`. */
      name?: string;
      /** `host:port` or a unix socket path (anything with a `/`). Default `127.0.0.1:3310`. */
      address?: string;
      breaker?: JsonBreakerOptions;
    }
  | {
      type: 'virustotal';
      /** Default `virustotal`. */
      name?: string;
      /** The environment variable holding the API key. Default `VT_API_KEY`. */
      apiKeyEnv?: string;
      /** Default VirusTotal's API. */
      baseUrl?: string;
      breaker?: JsonBreakerOptions;
    };

export interface TokenConfigFile {
  /** sha256 of the token, 64 hex digits. `breakwater-gateway hash-token` prints it. */
  sha256: string;
  /** A SpiceDB subject: `user:alice`. */
  subject: string;
  /** The tenant `POST /api/v1/scan` scans for. */
  tenant?: string;
}

/** A secret read from the environment: its value never shows in logs, errors, JSON or inspect. */
export interface Secret {
  /** The variable it came from, for messages. */
  readonly source: string;
  reveal(): string;
}

/** The configuration after validation: every default filled in, paths absolute, secrets read. */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly limits: {
    readonly maxFileSize: number;
    readonly maxFiles: number;
    readonly bodyTimeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly spicedb: {
    readonly endpoint: string;
    /** Undefined when the variable is unset (a SpiceDB without a key refuses every call). */
    readonly token: Secret | undefined;
    readonly insecure: boolean;
    readonly applySchema: boolean;
    readonly timeoutMs: number;
    readonly breaker: JsonBreakerOptions;
    readonly cache: {
      readonly freshMs: number;
      readonly ttlMs: number;
      readonly maxEntries: number;
    };
    readonly fallback: 'cached-else-deny' | 'deny';
  };
  readonly engines: readonly EngineConfig[];
  readonly scan: {
    readonly mode: 'all' | 'first-success';
    readonly timeoutMs: number;
    /** Absolute. */
    readonly spoolDir: string;
  };
  readonly policy: 'default' | 'strict' | PolicyJSON;
  readonly quarantine: { readonly dir: string };
  readonly tokens: readonly TokenConfig[];
  readonly dashboard: {
    readonly enabled: boolean;
    readonly token: Secret | undefined;
    /** Lower case, without a final dot. */
    readonly allowedHosts: readonly string[];
  };
  readonly metrics: { readonly enabled: boolean };
}

export type EngineConfig =
  | {
      readonly type: 'yara';
      readonly name: string;
      readonly rules: string | { readonly file: string } | { readonly dir: string };
      readonly maxFileSize: number | undefined;
      readonly breaker: JsonBreakerOptions;
    }
  | {
      readonly type: 'clamav';
      readonly name: string;
      /** As configured; a socket path made absolute. */
      readonly address: string;
      /** The address parsed, ready for ClamAvScanner: `{ host, port }` or `{ socketPath }`. */
      readonly endpoint: ClamdEndpoint;
      readonly breaker: JsonBreakerOptions;
    }
  | {
      readonly type: 'virustotal';
      readonly name: string;
      readonly apiKey: Secret;
      readonly baseUrl: string | undefined;
      readonly breaker: JsonBreakerOptions;
    };

export interface TokenConfig {
  /** 32 bytes. */
  readonly sha256: Buffer;
  readonly subject: string;
  readonly tenant: string | undefined;
}
