/**
 * Finding, reading and validating the config. Data directory: `--data`, else
 * `$DDIL_DATA`, else `./data`. Config file: `--config`, else `$DDIL_CONFIG`, else
 * `<data>/config.yaml`. Relative paths are taken from the working directory.
 * Values: flag over environment over file over default (overrides.ts).
 *
 * Every problem is one sentence: where (`file:line`, or the variable or flag that set
 * the value), the key path, the bad value, and how to write it, e.g.
 * `/var/lib/ddil/config.yaml:12: storage.quota: "1 gigabyte" is not a size; write e.g. 500MB or 1GB …`.
 *
 * @example
 * const { config, source, overrides } = loadConfig({ env: process.env, flags: { logLevel: 'debug' } })
 * config.storage.quotaBytes  // 1_000_000_000
 */
import { readFileSync, statSync } from 'node:fs'
import type { z } from 'zod'
import { ConfigError } from '../../protocol/errors.ts'
import { configFileBytesMax } from '../../protocol/limits.ts'
import { formatHostPort, type HostPort } from './fields.ts'
import { envConfigFile } from './keys.ts'
import { applyOverrides, type ConfigFlags, type Env } from './overrides.ts'
import { resolveConfigPath, resolveDataDir, type PathOptions } from './paths.ts'
import { describeIssue, type IssueContext } from './problems.ts'
import { configSchema, toResolved, type ResolvedConfig } from './schema.ts'
import { lineOf, parseYamlSource } from './source.ts'

export { configFileName, defaultDataDir, resolveConfigPath, resolveDataDir } from './paths.ts'

export interface LoadConfigOptions extends PathOptions {
  /** Environment (pass `process.env`); `DDIL_*` variables are read from it. */
  env?: Env
  flags?: ConfigFlags
}

export interface LoadedConfig {
  config: ResolvedConfig
  /** Absolute path of the config file read. */
  source: string
  /** Which variables and flags overrode which keys. */
  overrides: string[]
  /** Valid but probably not meant. */
  warnings: string[]
}

export type ConfigCheck = ({ ok: true } & LoadedConfig) | { ok: false, source: string, problems: string[] }

function readConfigText (path: string, dataDir: string): string {
  let size: number
  try {
    size = statSync(path).size
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`no config file at ${path}; run "ddil init --data ${dataDir}" to create one, or name one with --config or ${envConfigFile}`)
    }
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`)
  }
  if (size > configFileBytesMax) throw new ConfigError(`${path} is ${size} bytes, more than the ${configFileBytesMax} a config file may have`)
  return readFileSync(path, 'utf8')
}

/** Validates without throwing: every problem, sorted by where it is. */
export function checkConfig (options: LoadConfigOptions = {}): ConfigCheck {
  const dataDir = resolveDataDir(options)
  const source = resolveConfigPath(options, dataDir)
  try {
    const src = parseYamlSource(readConfigText(source, dataDir), source)
    const over = applyOverrides(src.value, options.env ?? {}, options.flags)
    const parsed = configSchema.safeParse(over.raw)
    const ctx: IssueContext = { src, raw: over.raw, origins: over.origins }
    if (!parsed.success) return { ok: false, source, problems: sortProblems(parsed.error.issues, ctx) }
    const config = toResolved(parsed.data, dataDir)
    const clash = addressClash(config, ctx)
    if (clash !== undefined) return { ok: false, source, problems: [clash] }
    return { ok: true, config, source, overrides: over.overrides, warnings: [...over.warnings, ...semanticWarnings(config)] }
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, source, problems: [e.message] }
    throw e
  }
}

/** Validates and resolves; throws ConfigError with the first problem (and how many more there are). */
export function loadConfig (options: LoadConfigOptions = {}): LoadedConfig {
  const check = checkConfig(options)
  if (check.ok) return { config: check.config, source: check.source, overrides: check.overrides, warnings: check.warnings }
  const more = check.problems.length - 1
  throw new ConfigError(check.problems[0] + (more > 0 ? ` (and ${more} more problem${more > 1 ? 's' : ''}; "ddil configtest" lists them all)` : ''))
}

function sortProblems (issues: readonly z.core.$ZodIssue[], ctx: IssueContext): string[] {
  const found = issues.flatMap(issue => describeIssue(issue, ctx))
  return found.sort((a, b) => a.rank - b.rank).map(p => p.text)
}

/** The client API, the HTTPS listener and the admin server cannot share one fixed address. */
function addressClash (config: ResolvedConfig, ctx: IssueContext): string | undefined {
  const listeners: Array<[string, HostPort | undefined]> = [['api.listen', config.api.listen], ['web.listen', config.web.listen], ['admin.listen', config.admin.listen]]
  for (const [i, [key, address]] of listeners.entries()) {
    for (const [earlier, other] of listeners.slice(0, i)) {
      if (address === undefined || other === undefined || address.port === 0 || address.port !== other.port || address.host !== other.host) continue
      const [section, name] = key.split('.')
      const where = ctx.origins.get(key) ?? `${ctx.src.file}:${lineOf(ctx.src, [section, name]) ?? 1}`
      return `${where}: ${key}: "${formatHostPort(address)}" is also ${earlier}; give it its own port, e.g. ${address.host}:${other.port + 1}`
    }
  }
  return undefined
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

function semanticWarnings (config: ResolvedConfig): string[] {
  const out: string[] = []
  const { peers, api, admin, clients } = config
  if (peers.mode === 'allowlist' && peers.allow.length === 0 && peers.static.length === 0) {
    out.push('peers.mode is allowlist but peers.allow and peers.static are empty, so no relay will be accepted')
  }
  if (peers.mode !== 'allowlist' && peers.allow.length > 0) out.push(`peers.allow is ignored while peers.mode is ${peers.mode}; set peers.mode: allowlist to use it`)
  if (!isLoopback(api.listen.host)) out.push(`api.listen ${formatHostPort(api.listen)} is reachable from other machines (only users in clients.allow can use it)`)
  if (config.web.listen !== undefined && isLoopback(config.web.listen.host)) out.push(`web.listen ${formatHostPort(config.web.listen)} is on loopback, so phones on the local network cannot reach it; use 0.0.0.0 or this relay's LAN address`)
  if (!isLoopback(admin.listen.host)) out.push(`admin.listen ${formatHostPort(admin.listen)} has no authentication and is reachable from other machines`)
  if (!clients.allowOperator && clients.allow.length === 0) out.push('clients.allow is empty, so no user can use the client API (not even "ddil send" on this machine)')
  return out
}
