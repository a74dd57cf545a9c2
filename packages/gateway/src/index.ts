export {
  ConfigError,
  type ConfigIssue,
  hashToken,
  loadConfig,
  type ParseConfigOptions,
  parseConfig,
} from './config/index.js';
export type {
  EngineConfig,
  EngineConfigFile,
  GatewayConfig,
  GatewayConfigFile,
  JsonBreakerOptions,
  Secret,
  TokenConfig,
  TokenConfigFile,
} from './config/types.js';
export { type Gateway, type GatewayOptions, startGateway } from './server/gateway.js';
export { schemaPath } from './server/schema.js';
export { GatewayStartError, type StartPhase } from './server/start-error.js';
