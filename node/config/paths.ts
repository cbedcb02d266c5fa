/**
 * Where the data directory and the config file are. Data directory: `--data`, else
 * `$DDIL_DATA`, else `./data`. Config file: `--config`, else `$DDIL_CONFIG`, else
 * `<data>/config.yaml`. Relative paths are taken from the working directory; an empty
 * variable counts as unset. Kept apart from the loader so that commands needing only
 * a path (whoami, init) do not load the YAML and schema libraries at start-up.
 *
 * @example
 * resolveDataDir({ env: { DDIL_DATA: 'relay' }, cwd: '/srv' })  // '/srv/relay'
 */
import { join, resolve } from 'node:path'
import { envConfigFile, envDataDir } from './keys.ts'

export const configFileName = 'config.yaml'
export const defaultDataDir = './data'

export interface PathOptions {
  /** `--data` value. */
  dataDir?: string
  /** `--config` value. */
  configPath?: string
  env?: Readonly<Record<string, string | undefined>>
  /** Base of relative paths (default: the working directory). */
  cwd?: string
}

function fromEnv (options: PathOptions, name: string): string | undefined {
  const value = options.env?.[name]
  return value === undefined || value === '' ? undefined : value
}

export function resolveDataDir (options: PathOptions): string {
  return resolve(options.cwd ?? process.cwd(), options.dataDir ?? fromEnv(options, envDataDir) ?? defaultDataDir)
}

export function resolveConfigPath (options: PathOptions, dataDir: string): string {
  return resolve(options.cwd ?? process.cwd(), options.configPath ?? fromEnv(options, envConfigFile) ?? join(dataDir, configFileName))
}
