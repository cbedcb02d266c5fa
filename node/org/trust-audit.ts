/**
 * Changes to whom a relay trusts, for the audit log (#29): its own organisation and
 * certificate, its partners (gateway or not, cut off or not) and the revocations it holds,
 * written as facts an auditor reads ("partner County EM (ddilorg1:…), gateway"). The facts
 * the log last recorded are kept in `<dataDir>/orgs.audited.json`; when the trust store's
 * facts differ (at start, after `ddil org …` edited it while the relay was stopped; or when a
 * running relay reads it again), one `config.changed` entry names the facts added and
 * removed. The entry is durable before the file is replaced, so a crash only repeats it.
 *
 * @example
 * await recordTrust({ dataDir, store, audit })
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditEvent } from '../audit/index.ts'
import { writeFileAtomic } from '../fs-durable.ts'
import { describePolicy } from '../../protocol/org/policy.ts'
import { formatOrgPublicKey } from './org-dir.ts'
import { trustStoreFileName, type TrustStore } from './trust-store.ts'

export const trustAuditedFileName = 'orgs.audited.json'

/** Most facts one entry lists each way; past it the entry says how many more. */
const factsPerEntryMax = 100

function iso (ms: number): string { return new Date(ms).toISOString() }

export function trustFacts (store: TrustStore): string[] {
  const facts: string[] = []
  const nameOf = new Map<string, string>()
  if (store.own !== null) {
    const c = store.own.certificate
    nameOf.set(formatOrgPublicKey(store.own.key), store.own.name)
    facts.push(`own organisation ${store.own.name} (${formatOrgPublicKey(store.own.key)}), this relay certified as "${c.name}", serial ${c.serial}, until ${iso(c.notAfterMs)}`)
  }
  for (const p of store.partners) {
    nameOf.set(formatOrgPublicKey(p.key), p.name)
    facts.push(`partner ${p.name} (${formatOrgPublicKey(p.key)}), ${p.distrustedMs !== undefined ? `cut off at ${iso(p.distrustedMs)}` : p.gateway ? 'this relay a gateway to it' : 'not a gateway to it'}`)
    const rules = describePolicy(p.policy)
    if (rules.length > 0) facts.push(`policy for ${p.name}: ${rules.join('; ')}`)
  }
  for (const r of store.revocations) facts.push(`revoked: ${nameOf.get(formatOrgPublicKey(r.org)) ?? formatOrgPublicKey(r.org)} serial ${r.serial}`)
  return facts
}

function capped (facts: string[]): string[] {
  return facts.length <= factsPerEntryMax ? facts : [...facts.slice(0, factsPerEntryMax), `… and ${facts.length - factsPerEntryMax} more`]
}

async function readFacts (path: string): Promise<string[] | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as { facts?: unknown }
    return Array.isArray(r.facts) && r.facts.every(f => typeof f === 'string') ? r.facts : undefined
  } catch {
    return undefined // none yet, or unreadable: every fact is recorded as new
  }
}

/** Writes `config.changed` for orgs.json when its facts differ from those last recorded; true if it did. */
export async function recordTrust (o: { dataDir: string, store: TrustStore, audit: (event: AuditEvent) => Promise<void> }): Promise<boolean> {
  const path = join(o.dataDir, trustAuditedFileName)
  const previous = await readFacts(path) ?? []
  const current = trustFacts(o.store)
  const added = current.filter(f => !previous.includes(f))
  const removed = previous.filter(f => !current.includes(f))
  if (added.length === 0 && removed.length === 0) return false
  await o.audit({ who: 'operator', what: 'config.changed', outcome: 'ok', detail: { file: trustStoreFileName, added: capped(added), removed: capped(removed) } })
  await writeFileAtomic(path, JSON.stringify({ facts: current }, null, 2) + '\n', 0o600)
  return true
}
