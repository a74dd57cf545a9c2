import { SPICEDB_BREAKER_DEFAULTS } from '@breakwater/authz';
import type { BreakerRegistry, Criticality, Logger } from '@breakwater/core';
import {
  type BreakerScanner,
  ClamAvScanner,
  type Scanner,
  VirusTotalScanner,
  withCircuitBreaker,
  YaraScanner,
} from '@breakwater/scanbridge';
import type { EngineConfig } from '../config/types.js';

// Engines' breakers share the registry with SpiceDB's, which keeps the name authz gives it.
const SPICEDB_BREAKER = SPICEDB_BREAKER_DEFAULTS.name;

/** The configured engines, each behind its breaker, registered; `close()` ends what they hold. */
export interface Engines {
  readonly scanners: readonly BreakerScanner[];
  /** The breakers' names, in configuration order: each is its engine's name. */
  readonly names: readonly string[];
  close(): Promise<void>;
}

/**
 * Builds each engine and puts it behind a breaker registered under the engine's name. With one
 * engine its breaker open leaves nothing to scan with: critical. With more, one open is degraded
 * (the others still scan); all of them open is critical, which the readiness check adds, since
 * a registry rolls breakers up one at a time.
 */
export function buildEngines(
  configs: readonly EngineConfig[],
  registry: BreakerRegistry,
  logger: Logger,
  spoolDir: string,
): Engines {
  const taken = configs.findIndex((config) => config.name === SPICEDB_BREAKER);
  if (taken !== -1) {
    throw new TypeError(
      `engines[${taken}].name "${SPICEDB_BREAKER}" is the SpiceDB breaker's: give the engine another name`,
    );
  }
  const criticality: Criticality = configs.length === 1 ? 'critical' : 'degraded';
  const scanners: BreakerScanner[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    for (const config of configs) {
      const engine = scannerFor(config, spoolDir);
      if (hasClose(engine)) closers.push(() => engine.close());
      // The breaker tells the gateway's log when it opens and closes.
      const protectedEngine = withCircuitBreaker(engine, { ...config.breaker, logger });
      registry.register(config.name, protectedEngine.breaker, { criticality });
      scanners.push(protectedEngine);
    }
  } catch (error) {
    for (const scanner of scanners) registry.delete(scanner.name);
    void Promise.allSettled(closers.map((close) => close()));
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    scanners,
    names: scanners.map((scanner) => scanner.name),
    close() {
      closing ??= Promise.allSettled(closers.map((close) => close())).then(() => {});
      return closing;
    },
  };
}

function scannerFor(config: EngineConfig, spoolDir: string): Scanner {
  switch (config.type) {
    case 'yara':
      return new YaraScanner({
        name: config.name,
        rules: config.rules,
        spoolDir,
        ...(config.maxFileSize === undefined ? {} : { maxFileSize: config.maxFileSize }),
      });
    case 'clamav':
      return new ClamAvScanner({ name: config.name, ...config.endpoint });
    case 'virustotal':
      return new VirusTotalScanner({
        name: config.name,
        apiKey: config.apiKey.reveal(),
        ...(config.baseUrl === undefined ? {} : { baseUrl: config.baseUrl }),
      });
  }
}

function hasClose(scanner: Scanner): scanner is Scanner & { close(): Promise<void> } {
  return typeof (scanner as { close?: unknown }).close === 'function';
}
