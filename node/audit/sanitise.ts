/**
 * Turns whatever a caller passes to `AuditLog.append` into a bounded, JSON-safe event that
 * never throws: long strings are cut with an explicit marker, deep or wide values are
 * trimmed with counts, byte arrays become a length only (they may be keys), fields whose
 * names suggest secrets are redacted, and a detail over `auditDetailBytesMax` is replaced
 * by a marked preview. An event type outside the closed set is recorded as
 * `audit.invalid-event` with the name given, so a caller bug is visible, not silent.
 *
 * @example
 * sanitiseEvent({ who: 'operator', what: 'config.changed', outcome: 'ok', detail: { key: 'log.level', password: 'x' } })
 * // → { who: 'operator', what: 'config.changed', outcome: 'ok', remote: null, detail: { key: 'log.level', password: '[redacted]' } }
 */
import {
  auditDetailBytesMax, auditDetailDepthMax, auditDetailItemsMax, auditStringCharsMax,
} from '../../protocol/limits.ts'
import { canonicalJson, type AuditDetail, type AuditValue } from './canonical.ts'
import { auditEventTypes, auditOutcomes, type AuditEventType, type AuditInternalType, type AuditOutcome } from './format.ts'

/** What a caller records. `who` is the actor (user key, peer id, 'operator', 'node'); `remote` the far address, if any. */
export interface AuditEvent {
  who: string
  what: AuditEventType
  outcome: AuditOutcome
  remote?: string
  /** Small facts: ids as hex strings, reasons, counts. Never secrets or plaintext. */
  detail?: Record<string, unknown>
}

export interface CleanEvent {
  who: string
  what: AuditEventType | AuditInternalType
  outcome: AuditOutcome
  remote: string | null
  detail: AuditDetail
}

/** Field names whose values are never written, whatever they hold. */
const secretName = /secret|passw|private|priv_?key|token|seed|mnemonic|plaintext|cleartext|credential/i

/** Cut `s` to `auditStringCharsMax` characters including a marker that says how long it was. */
export function boundString (s: string): string {
  if (s.length <= auditStringCharsMax) return s
  const marker = `…[truncated from ${s.length} chars]`
  let cut = s.slice(0, auditStringCharsMax - marker.length)
  const last = cut.charCodeAt(cut.length - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1) // do not split a surrogate pair
  return cut + marker
}

function safeString (x: unknown, fallback: string): string {
  try {
    return boundString(typeof x === 'string' ? x : String(x))
  } catch {
    return fallback
  }
}

export function sanitiseEvent (event: unknown): CleanEvent {
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>
  const given = { what: readField(e, 'what'), outcome: readField(e, 'outcome') }
  const extra: Record<string, AuditValue> = {}
  let what: CleanEvent['what'] = 'audit.invalid-event'
  if ((auditEventTypes as readonly unknown[]).includes(given.what)) what = given.what as AuditEventType
  else extra.given_what = safeString(given.what, '[unprintable]')
  let outcome: AuditOutcome = 'failed'
  if ((auditOutcomes as readonly unknown[]).includes(given.outcome)) outcome = given.outcome as AuditOutcome
  else extra.given_outcome = safeString(given.outcome, '[unprintable]')
  const remote = readField(e, 'remote')
  return {
    who: safeString(readField(e, 'who'), '[unprintable]'),
    what,
    outcome,
    remote: remote === undefined || remote === null ? null : safeString(remote, '[unprintable]'),
    detail: sanitiseDetail(readField(e, 'detail'), extra),
  }
}

function readField (o: Record<string, unknown>, key: string): unknown {
  try {
    return o[key]
  } catch {
    return '[unreadable]'
  }
}

/** Bound a caller's detail; `extra` (our own notes) is merged in before the size check. */
export function sanitiseDetail (detail: unknown, extra: Record<string, AuditValue> = {}): AuditDetail {
  let out: AuditDetail
  try {
    const clean = detail === undefined || detail === null ? {} : clean1(detail, 0)
    out = isPlainRecord(clean) ? clean : nullRecord({ value: clean })
  } catch {
    out = nullRecord({ _unserialisable: true })
  }
  for (const [k, v] of Object.entries(extra)) out[k] = v
  const text = canonicalJson(out)
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes <= auditDetailBytesMax) return out
  return nullRecord({ _truncated: true, _bytes: bytes, _preview: boundString(text) })
}

function isPlainRecord (v: AuditValue): v is AuditDetail {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function nullRecord (fields: Record<string, AuditValue>): AuditDetail {
  const o: AuditDetail = Object.create(null)
  for (const [k, v] of Object.entries(fields)) o[k] = v
  return o
}

function clean1 (v: unknown, depth: number): AuditValue {
  switch (typeof v) {
    case 'string': return boundString(v)
    case 'number': return Number.isFinite(v) ? v : String(v)
    case 'boolean': return v
    case 'bigint': return boundString(v.toString())
    case 'undefined': return null
    case 'symbol': case 'function': return `[${typeof v}]`
  }
  if (v === null) return null
  if (v instanceof Uint8Array) return `[${v.length} bytes]`
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString()
  if (v instanceof Error) return boundString(`${v.name}: ${v.message}`)
  if (depth >= auditDetailDepthMax) return '[too deep]'
  if (Array.isArray(v)) {
    const items = v.slice(0, auditDetailItemsMax).map(x => clean1(x, depth + 1))
    if (v.length > auditDetailItemsMax) items.push(`[+${v.length - auditDetailItemsMax} items]`)
    return items
  }
  const keys = Object.keys(v as object).sort()
  const out: AuditDetail = Object.create(null)
  for (const k of keys.slice(0, auditDetailItemsMax)) {
    out[boundString(k)] = secretName.test(k) ? '[redacted]' : clean1((v as Record<string, unknown>)[k], depth + 1)
  }
  if (keys.length > auditDetailItemsMax) out._omitted = keys.length - auditDetailItemsMax
  return out
}
