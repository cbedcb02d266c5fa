/**
 * The relay's configuration: where it is (data directory, config file), what it may
 * say (keys.ts, schema.ts), how environment variables and flags override it, and how
 * it is described back to the operator. See docs/CONFIG.md.
 *
 * @example
 * import { loadConfig, describeConfig } from './node/config/index.ts'
 * const { config } = loadConfig({ env: process.env })
 * for (const line of describeConfig(config)) console.log(line)
 */
export { checkConfig, configFileName, defaultDataDir, loadConfig, resolveConfigPath, resolveDataDir } from './load.ts'
export type { ConfigCheck, LoadConfigOptions, LoadedConfig } from './load.ts'
export { addConfigOptions, applyOverrides, flagsFromOptions, knownEnvNames } from './overrides.ts'
export type { ConfigFlags, Env } from './overrides.ts'
export { allowedPeerIds, configSchema, logLevels, peerModes } from './schema.ts'
export type { LogLevel, PeerMode, ResolvedConfig } from './schema.ts'
export { configKeys, envConfigFile, envDataDir } from './keys.ts'
export type { ConfigKey } from './keys.ts'
export { describeConfig } from './describe.ts'
export { renderConfigTemplate } from './template.ts'
export { formatHostPort, operatorKeyword } from './fields.ts'
export type { HostPort } from './fields.ts'
