/**
 * Configuration changes at start-up, for the audit log: a digest of the effective
 * configuration (after the config file, `DDIL_*` and flags) with one hash per key, compared
 * with the digest the previous start recorded (`<dataDir>/config.audited.json`). A start
 * whose configuration differs, or the first, writes `config.changed` naming the keys that
 * changed; values are never written, only their hashes (a value may be a path an operator
 * considers sensitive; the digest proves which configuration ran without disclosing it).
 *
 * @example
 * const digest = configDigest(config)          // { hash: '9c1f…', keys: { 'log.level': '3a7b…', … } }
 * configChanges(previous, digest)              // ['log.level']
 * const hash = await recordConfig({ dataDir, config, audit })   // for node.started
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalJson, type AuditValue } from './audit/canonical.ts'
import type { AuditEvent } from './audit/index.ts'
import type { ResolvedConfig } from './config/index.ts'
import { writeFileAtomic } from './fs-durable.ts'

export const configAuditedFileName = 'config.audited.json'

/** Hex characters kept of each key's hash: 64 bits, enough to tell values apart, short enough for 30 keys in one entry. */
const keyHashChars = 16

export interface ConfigDigest {
  /** SHA-256 of the canonical JSON of `keys`. */
  hash: string
  /** Each key (`section.key`, as resolved) → the first 16 hex characters of its value's SHA-256. */
  keys: Record<string, string>
}

function sha256 (text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function valueHash (value: unknown): string {
  return sha256(canonicalJson(JSON.parse(JSON.stringify(value ?? null)) as AuditValue)).slice(0, keyHashChars)
}

export function configDigest (config: ResolvedConfig): ConfigDigest {
  const keys: Record<string, string> = {}
  for (const [section, value] of Object.entries(config)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) { keys[section] = valueHash(value); continue }
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) keys[`${section}.${key}`] = valueHash(v)
  }
  return { hash: sha256(canonicalJson(keys)), keys }
}

/** Keys set, changed or gone since `previous`, sorted; every key when there is no previous digest. */
export function configChanges (previous: ConfigDigest | undefined, current: ConfigDigest): string[] {
  const names = new Set([...Object.keys(previous?.keys ?? {}), ...Object.keys(current.keys)])
  return [...names].filter(k => previous?.keys[k] !== current.keys[k]).sort()
}

async function readDigest (path: string): Promise<ConfigDigest | undefined> {
  try {
    const d = JSON.parse(await readFile(path, 'utf8')) as ConfigDigest
    return typeof d.hash === 'string' && typeof d.keys === 'object' && d.keys !== null ? d : undefined
  } catch {
    return undefined // none yet, or unreadable: the start is recorded as from no known configuration
  }
}

/**
 * Writes `config.changed` when the effective configuration differs from the one the last
 * start recorded (or none was), then remembers it; returns its hash. The entry is durable
 * before the digest file is replaced, so a crash between the two only repeats the entry.
 */
export async function recordConfig (o: { dataDir: string, config: ResolvedConfig, audit: (event: AuditEvent) => Promise<void> }): Promise<string> {
  const path = join(o.dataDir, configAuditedFileName)
  const previous = await readDigest(path)
  const current = configDigest(o.config)
  if (previous?.hash === current.hash) return current.hash
  const changed = configChanges(previous, current)
  await o.audit({
    who: 'operator', what: 'config.changed', outcome: 'ok',
    // The new values' hashes for the keys that changed; at a first start every key is new, and their names say enough.
    detail: { hash: current.hash, previous: previous?.hash ?? null, changed, ...(previous !== undefined ? { keys: Object.fromEntries(changed.map(k => [k, current.keys[k] ?? null])) } : {}) },
  })
  await writeFileAtomic(path, `${JSON.stringify(current)}\n`, 0o600)
  return current.hash
}
