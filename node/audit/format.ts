/**
 * The audit log's on-disk format, version 1: one JSON object per line with a fixed key
 * order, a SHA-256 hash chain and an Ed25519 signature per entry (docs/AUDIT.md has the
 * grammar). `encodeEntry` and `parseEntryLine` are the symmetric pair; a line is canonical
 * when re-encoding its parsed fields gives back exactly the same characters.
 *
 * @example
 * const line = encodeEntry(fields, crypto, keyPair)          // '{"v":1,"seq":1,...,"sig":"…"}'
 * const checked = parseEntryLine(line, crypto, keyPair.publicKey)  // { entry, canonical: true, hashOk: true, sigOk: true }
 */
import { concatBytes, fromHex, toHex, utf8 } from '../../protocol/bytes.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import { auditStringCharsMax } from '../../protocol/limits.ts'
import { canonicalJson, isAuditValue, type AuditDetail } from './canonical.ts'

export const auditFormatVersion = 1

/** Event types callers may record. */
export const auditEventTypes = [
  'peer.accepted', 'peer.refused', 'envelope.rejected', 'membership.changed', 'policy.changed',
  'key.rotated', 'store.purged', 'store.evicted', 'config.changed', 'node.started', 'node.stopped',
  'client.authenticated', 'client.refused', 'admin.refused',
  'enrolment.issued', 'enrolment.refused', 'enrolment.expired', 'client.enrolled', 'client.revoked',
  'bundle.exported', 'bundle.imported', 'boundary.crossed',
] as const
export type AuditEventType = (typeof auditEventTypes)[number]

/** Event types only the log itself writes: signed checkpoints, repairs, and caller mistakes. */
export const auditInternalTypes = ['audit.checkpoint', 'audit.recovered', 'audit.invalid-event'] as const
export type AuditInternalType = (typeof auditInternalTypes)[number]

export const auditOutcomes = ['ok', 'refused', 'failed'] as const
export type AuditOutcome = (typeof auditOutcomes)[number]

/** Domain labels: a signature made for one purpose never verifies for another. */
export const entryLabel = 'ddil/v1/audit-entry\n'
export const checkpointLabel = 'ddil/v1/audit-checkpoint\n'
export const headLabel = 'ddil/v1/audit-head\n'

/** `prev` of the first entry. */
export const genesisHash = '0'.repeat(64)

export interface AuditWhere { node: string, remote: string | null }

/** Every field of an entry except `hash` and `sig`: what the hash covers. */
export interface AuditFields {
  v: number
  seq: number
  ts: string
  who: string
  what: AuditEventType | AuditInternalType
  where: AuditWhere
  outcome: AuditOutcome
  detail: AuditDetail
  prev: string
}

export interface AuditEntry extends AuditFields { hash: string, sig: string }

const hexRe = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`)
const hash64 = hexRe(64)
const sig128 = hexRe(128)
const isoRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const keyOrder = ['v', 'seq', 'ts', 'who', 'what', 'where', 'outcome', 'detail', 'prev', 'hash', 'sig']
const allTypes: readonly string[] = [...auditEventTypes, ...auditInternalTypes]

/** Byte helpers, from the protocol (one implementation; verify.ts and load.ts import them from here too). */
export { fromHex, toHex, utf8 }

/** The canonical serialisation of everything but `hash` and `sig`; `hash` is SHA-256 of its UTF-8 bytes. */
export function encodeBody (f: AuditFields): string {
  const remote = f.where.remote === null ? 'null' : JSON.stringify(f.where.remote)
  return `{"v":${f.v},"seq":${f.seq},"ts":${JSON.stringify(f.ts)},"who":${JSON.stringify(f.who)},` +
    `"what":${JSON.stringify(f.what)},"where":{"node":${JSON.stringify(f.where.node)},"remote":${remote}},` +
    `"outcome":${JSON.stringify(f.outcome)},"detail":${canonicalJson(f.detail)},"prev":${JSON.stringify(f.prev)}}`
}

export function entryHash (f: AuditFields, crypto: Crypto): string {
  return toHex(crypto.sha256(utf8(encodeBody(f))))
}

/** What the node signs for an entry: the label for its kind, then the 32 raw bytes of its hash. */
export function entrySigningMessage (what: string, hash: string): Uint8Array {
  return concatBytes([utf8(what === 'audit.checkpoint' ? checkpointLabel : entryLabel), fromHex(hash)])
}

export function encodeLine (e: AuditEntry): string {
  return `${encodeBody(e).slice(0, -1)},"hash":"${e.hash}","sig":"${e.sig}"}`
}

/** Hash and sign `f`, giving the complete entry and its line. */
export function sealEntry (f: AuditFields, crypto: Crypto, key: KeyPair): { entry: AuditEntry, line: string } {
  const hash = entryHash(f, crypto)
  const sig = toHex(crypto.ed25519Sign(key.privateKey, entrySigningMessage(f.what, hash)))
  const entry = { ...f, hash, sig }
  return { entry, line: encodeLine(entry) }
}

export interface CheckedLine {
  entry: AuditEntry
  /** Re-encoding the parsed fields gives the same characters. */
  canonical: boolean
  /** `hash` is SHA-256 of the canonical body. */
  hashOk: boolean
  /** `sig` verifies under the trusted key (false when no key is known). */
  sigOk: boolean
}

/** Parse one line's shape only (no hash or signature check): the entry, or a string saying why it is not one. */
export function parseEntryShape (line: string): AuditEntry | string {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch {
    return 'not JSON'
  }
  return asEntry(raw)
}

/** Parse and check one line. Returns a string saying why when the line is not an audit entry at all. */
export function parseEntryLine (line: string, crypto: Crypto, key: Uint8Array | undefined): CheckedLine | string {
  const entry = parseEntryShape(line)
  if (typeof entry === 'string') return entry
  const canonical = encodeLine(entry) === line
  const hashOk = entryHash(entry, crypto) === entry.hash
  const sigOk = hashOk && key !== undefined &&
    crypto.ed25519Verify(key, entrySigningMessage(entry.what, entry.hash), fromHex(entry.sig))
  return { entry, canonical, hashOk, sigOk }
}

const isStr = (x: unknown): x is string => typeof x === 'string' && x.length <= auditStringCharsMax

/** Check the shape of a parsed line; returns the reason it is not an entry, if it is not. */
function asEntry (raw: unknown): AuditEntry | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object'
  const o = raw as Record<string, unknown>
  const keys = Object.keys(o)
  if (keys.length !== keyOrder.length || !keyOrder.every(k => Object.hasOwn(o, k))) return `keys must be exactly ${keyOrder.join(', ')}`
  if (o.v !== auditFormatVersion) return `unknown format version ${String(o.v)}`
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1) return 'seq is not a positive integer'
  if (typeof o.ts !== 'string' || !isoRe.test(o.ts)) return 'ts is not an ISO-8601 UTC time'
  if (!isStr(o.who)) return 'who is not a short string'
  if (typeof o.what !== 'string' || !allTypes.includes(o.what)) return 'what is not a known event type'
  const w = o.where as Record<string, unknown> | null
  if (typeof w !== 'object' || w === null || Object.keys(w).length !== 2 || !isStr(w.node) ||
    (w.remote !== null && !isStr(w.remote))) return 'where is not { node, remote }'
  if (typeof o.outcome !== 'string' || !(auditOutcomes as readonly string[]).includes(o.outcome)) return 'outcome is not ok, refused or failed'
  if (typeof o.detail !== 'object' || o.detail === null || Array.isArray(o.detail) || !isAuditValue(o.detail, 0)) return 'detail is not a bounded JSON object'
  if (typeof o.prev !== 'string' || !hash64.test(o.prev)) return 'prev is not 64 lowercase hex digits'
  if (typeof o.hash !== 'string' || !hash64.test(o.hash)) return 'hash is not 64 lowercase hex digits'
  if (typeof o.sig !== 'string' || !sig128.test(o.sig)) return 'sig is not 128 lowercase hex digits'
  return o as unknown as AuditEntry
}

// ---- Head file -----------------------------------------------------------------

/** The signed head: the last entry the node wrote, and the key it signs with. */
export interface AuditHead { v: number, seq: number, hash: string, key: string, sig: string }

function encodeHeadBody (h: Omit<AuditHead, 'sig'>): string {
  return `{"v":${h.v},"seq":${h.seq},"hash":"${h.hash}","key":"${h.key}"}`
}

export function headSigningMessage (h: Omit<AuditHead, 'sig'>): Uint8Array {
  return concatBytes([utf8(headLabel), utf8(encodeHeadBody(h))])
}

export function signHead (seq: number, hash: string, crypto: Crypto, key: KeyPair): AuditHead {
  const body = { v: auditFormatVersion, seq, hash, key: toHex(key.publicKey) }
  return { ...body, sig: toHex(crypto.ed25519Sign(key.privateKey, headSigningMessage(body))) }
}

export function encodeHead (h: AuditHead): string {
  return `${encodeHeadBody(h).slice(0, -1)},"sig":"${h.sig}"}`
}

/** Parse a head line strictly (canonical form only); returns the reason when it is not one. */
export function parseHead (line: string): AuditHead | string {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch {
    return 'audit.head is not JSON'
  }
  const o = raw as Record<string, unknown>
  if (typeof o !== 'object' || o === null || o.v !== auditFormatVersion || typeof o.seq !== 'number' ||
    !Number.isSafeInteger(o.seq) || o.seq < 0 || typeof o.hash !== 'string' || !hash64.test(o.hash) ||
    typeof o.key !== 'string' || !hash64.test(o.key) || typeof o.sig !== 'string' || !sig128.test(o.sig)) {
    return 'audit.head is not { v: 1, seq, hash, key, sig }'
  }
  const head = { v: o.v, seq: o.seq, hash: o.hash, key: o.key, sig: o.sig }
  if (encodeHead(head) !== line) return 'audit.head is not in canonical form'
  return head
}

export function headSignatureOk (h: AuditHead, crypto: Crypto, key: Uint8Array): boolean {
  return toHex(key) === h.key && crypto.ed25519Verify(key, headSigningMessage(h), fromHex(h.sig))
}
