export { ConfigError, type ConfigIssue } from './config-error.js';
export {
  type ConfigOverrides,
  type LoadConfigOptions,
  loadConfig,
  readConfigFile,
} from './load-config.js';
export { type ParseConfigOptions, parseConfig } from './parse-config.js';
export { hashToken } from './tokens.js';
