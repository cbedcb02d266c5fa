/**
 * Environment and command-line overrides of config keys. Precedence, highest first:
 * command-line flag, `DDIL_*` environment variable, config file, built-in default.
 * List values are comma-separated in both (`DDIL_LISTEN=/ip4/0.0.0.0/tcp/4401,/ip4/0.0.0.0/tcp/4402/ws`);
 * an empty variable counts as unset. Overridden values are validated like file values,
 * and errors name the variable or flag instead of a line.
 *
 * @example
 * const o = applyOverrides({ node: {} }, { DDIL_LOG_LEVEL: 'debug' }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
 * o.origins.get('node.listen')  // '--listen'
 * o.overrides                   // ['--listen sets node.listen', 'DDIL_LOG_LEVEL sets log.level']
 */
import type { Command } from 'commander'
import { configKeys, envConfigFile, envDataDir, envPassphrase, envPassphraseFile } from './keys.ts'
import { didYouMean } from '../../protocol/did-you-mean.ts'

/** Values from `ddil start` flags (each list may come from repeated and comma-separated flags). */
export interface ConfigFlags {
  listen?: string[]
  peers?: string[]
  api?: string
  web?: string
  admin?: string
  logLevel?: string
}

export type Env = Readonly<Record<string, string | undefined>>

/** The ConfigFlags field behind each flag name in the key table. */
const flagFields: Readonly<Record<string, keyof ConfigFlags>> = {
  '--listen': 'listen', '--peer': 'peers', '--api': 'api', '--web': 'web', '--admin': 'admin', '--log-level': 'logLevel',
}

export interface Overridden {
  /** The raw config with overrides applied (the input is not modified). */
  raw: unknown
  /** Key path → the variable or flag that set it. */
  origins: Map<string, string>
  /** One line per override, for configtest ("DDIL_LISTEN sets node.listen"). */
  overrides: string[]
  /** `DDIL_*` variables that look like misspellings of ours. */
  warnings: string[]
}

function splitList (text: string): string[] {
  return text.split(',').map(s => s.trim()).filter(s => s !== '')
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function applyOverrides (raw: unknown, env: Env, flags: ConfigFlags = {}): Overridden {
  const out: unknown = isPlainObject(raw) ? structuredClone(raw) : raw
  const origins = new Map<string, string>()
  const overrides: string[] = []
  for (const key of configKeys) {
    const flagValue = key.flag !== undefined ? flags[flagFields[key.flag]] : undefined
    const envValue = key.env !== undefined ? env[key.env] : undefined
    let value: unknown
    let origin: string
    if (flagValue !== undefined) {
      value = flagValue
      origin = key.flag as string
    } else if (envValue !== undefined && envValue !== '') {
      value = key.item !== undefined ? splitList(envValue) : envValue.trim()
      origin = key.env as string
    } else {
      continue
    }
    const [section, name] = key.path.split('.')
    if (!isPlainObject(out)) continue // the file's own shape error is reported instead
    if (out[section] === undefined || out[section] === null) out[section] = {}
    const target = out[section]
    if (!isPlainObject(target)) continue
    target[name] = value
    origins.set(key.path, origin)
    overrides.push(`${origin} sets ${key.path}`)
  }
  return { raw: out, origins, overrides, warnings: envTypos(env) }
}

/** Every `DDIL_*` name this module or the loader reads. */
export const knownEnvNames: readonly string[] = [envDataDir, envConfigFile, envPassphraseFile, envPassphrase, ...configKeys.flatMap(k => k.env ?? [])]

/** Unknown `DDIL_*` variables close to a known one (other DDIL_ variables, such as test knobs, are left alone). */
function envTypos (env: Env): string[] {
  const out: string[] = []
  for (const name of Object.keys(env)) {
    if (!name.startsWith('DDIL_') || knownEnvNames.includes(name) || env[name] === undefined) continue
    // Compare what follows the shared prefix, or every DDIL_ name would look close to every other.
    const guess = didYouMean(name.slice(5), knownEnvNames.map(n => n.slice(5)))
    if (guess !== undefined) out.push(`environment variable ${name} is not used; did you mean DDIL_${guess}?`)
  }
  return out
}

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...splitList(value)]
}

/**
 * Adds `--data`, `--config` and the override flags to a command (for `ddil start`).
 * Read them back with `flagsFromOptions(command.opts())`.
 */
export function addConfigOptions (command: Command): Command {
  return command
    .option('--data <dir>', `data directory (default: $${envDataDir}, else ./data)`)
    .option('--config <file>', `config file (default: $${envConfigFile}, else <data>/config.yaml)`)
    .option('--listen <multiaddrs>', 'node.listen: listen multiaddrs, comma-separated or repeated', collect)
    .option('--peer <multiaddrs>', 'peers.static: relays to dial, comma-separated or repeated', collect)
    .option('--api <host:port>', 'api.listen: client API address')
    .option('--web <host:port>', 'web.listen: HTTPS address for the field app on the local network, or off')
    .option('--admin <host:port>', 'admin.listen: health, status and metrics address')
    .option('--log-level <level>', 'log.level: trace, debug, info, warn or error')
}

/** The ConfigFlags in a command's parsed options. */
export function flagsFromOptions (opts: Record<string, unknown>): ConfigFlags {
  const flags: ConfigFlags = {}
  if (Array.isArray(opts.listen)) flags.listen = opts.listen as string[]
  if (Array.isArray(opts.peer)) flags.peers = opts.peer as string[]
  if (typeof opts.api === 'string') flags.api = opts.api
  if (typeof opts.web === 'string') flags.web = opts.web
  if (typeof opts.admin === 'string') flags.admin = opts.admin
  if (typeof opts.logLevel === 'string') flags.logLevel = opts.logLevel
  return flags
}
