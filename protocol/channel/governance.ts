/**
 * Governance change bodies: the public, signed statements that create a channel and
 * change its members, roles and policy. A governance envelope's body is the canonical
 * CBOR of one change (integer keys; grammar in docs/CHANNELS.md "Governance"):
 *
 *   create = {0:'create', 1: ownerEd(32), 2: ownerX(32), 3: policy, 4: nonce(16), ? 6: certificate}
 *   add    = {0:'add',    1: memberEd(32), 2: memberX(32), 3: role, ? 6: certificate}
 *   certificate = the owner's or member's user certificate from their organisation (#29,
 *                 protocol/org/certificate.ts): a user certificate whose subject is exactly
 *                 ed || x; whether its organisation is trusted is each relay's and client's call
 *   remove = {0:'remove', 1: memberEd(32), 5: cutSeq}
 *   role   = {0:'role',   1: memberEd(32), 3: role}
 *   policy = {0:'policy', 3: policy}
 *   policy value = {0: retentionSeconds, 1: [precedence, …] ascending, 2: 'member'|'admin',
 *                   ? 3: textBytesMax, ? 4: fileBytesMax,     ; since #23, absent = default
 *                   ? 5: fileRetentionSeconds,                ; since #25, absent = retentionSeconds
 *                   ? 6: true (legal hold),                   ; since #25, absent = no hold
 *                   ? 7: closedAtMs}                          ; since #25, absent = open
 *
 * Decoding is strict: exactly the keys of the op (no more, no fewer), exact key lengths,
 * known roles and precedences only, and (through `decodeStrict`) one byte form per change.
 *
 * @example
 * const body = encodeChange({ op: 'remove', memberEd, cutSeq: 7 })
 * decodeChange(body)   // { op: 'remove', memberEd, cutSeq: 7 }
 */
import { asArray, asBool, asBytes, asMap, asText, asUint, decodeStrict, encodeCanonical, field, onlyKeys, type CborMap, type CborValue } from '../cbor.ts'
import { bytesEqual } from '../bytes.ts'
import { DecodeError } from '../errors.ts'
import { decodeCertificate } from '../org/certificate.ts'
import { precedenceNames, type Precedence } from '../envelope.ts'
import { fileBytesMaxDefault, fileChunkBytes, fileChunksMax, longTextBytesMaxDefault, orgDocumentBytesMax, retentionSecondsMax, ttlSecondsMin } from '../limits.ts'
import { isRole, postRoleNames, type PostRole, type Role } from './roles.ts'

export const edKeyLength = 32
export const xKeyLength = 32
export const genesisNonceBytes = 16
/** Largest size a policy may name: what the most chunks a file may have can carry. */
const policyBytesMax = fileChunksMax * fileChunkBytes

export interface Policy {
  /**
   * How long relays keep the channel's messages, seconds (up to `retentionSecondsMax`, years):
   * they refuse a message, receipt or file that asks to live longer, and purge at expiry.
   */
  retentionSeconds: number
  /** Precedences members may use, ascending, unique, at least one. */
  allowedPrecedence: Precedence[]
  /** Least role that may post messages and state updates. */
  whoMayPost: PostRole
  /** Longest text message, bytes (absent: `longTextBytesMaxDefault`). Relays refuse longer ones. */
  textBytesMax?: number
  /** Largest file, bytes (absent: `fileBytesMaxDefault`). Relays refuse larger ones. */
  fileBytesMax?: number
  /** How long relays keep files and long messages, seconds (absent: `retentionSeconds`). */
  fileRetentionSeconds?: number
  /** A legal hold: while set, relays purge nothing of the channel, expired or not (absent: no hold). */
  legalHold?: boolean
  /**
   * Closed (archived) at this time, ms: relays refuse posts (messages, files, board updates)
   * stamped after it and keep what retention says. Absent: open. Only owners change policy.
   */
  closedAtMs?: number
}

/** How long relays keep one kind of the channel's content, seconds. */
export function retentionFor (p: Policy, file: boolean): number {
  return file ? p.fileRetentionSeconds ?? p.retentionSeconds : p.retentionSeconds
}

/** A policy's size limits, defaults filled in. */
export function policySizeLimits (p: Policy): { textBytesMax: number, fileBytesMax: number } {
  return { textBytesMax: p.textBytesMax ?? longTextBytesMaxDefault, fileBytesMax: p.fileBytesMax ?? fileBytesMaxDefault }
}

/** `ownerCertificate`, `memberCertificate` (#29): the user certificate of the owner or member, from their organisation; absent when none was given. */
export interface CreateChange { op: 'create', ownerEd: Uint8Array, ownerX: Uint8Array, policy: Policy, nonce: Uint8Array, ownerCertificate?: Uint8Array }
export interface AddChange { op: 'add', memberEd: Uint8Array, memberX: Uint8Array, role: Role, memberCertificate?: Uint8Array }
export interface RemoveChange { op: 'remove', memberEd: Uint8Array, cutSeq: number }
export interface RoleChange { op: 'role', memberEd: Uint8Array, role: Role }
export interface PolicyChange { op: 'policy', policy: Policy }
export type Change = CreateChange | AddChange | RemoveChange | RoleChange | PolicyChange
export type ChangeOp = Change['op']

const K = { op: 0, ed: 1, x: 2, value: 3, nonce: 4, cutSeq: 5, certificate: 6 } as const
const opKeys: Record<ChangeOp, readonly number[]> = {
  create: [K.op, K.ed, K.x, K.value, K.nonce],
  add: [K.op, K.ed, K.x, K.value],
  remove: [K.op, K.ed, K.cutSeq],
  role: [K.op, K.ed, K.value],
  policy: [K.op, K.value],
}
/** Keys an op may carry besides its own (each written only when set, so older changes keep their byte form). */
const optionalKeys: Partial<Record<ChangeOp, readonly number[]>> = { create: [K.certificate], add: [K.certificate] }

function checkLength (bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw new DecodeError(`${what} must be ${length} bytes`)
  return bytes
}

function policyValue (p: Policy): CborMap {
  const m = new Map<number, CborValue>([[0, p.retentionSeconds], [1, [...p.allowedPrecedence]], [2, p.whoMayPost]])
  // Written only when set, so every policy made before #23 keeps its byte form (and its change id).
  if (p.textBytesMax !== undefined) m.set(3, p.textBytesMax)
  if (p.fileBytesMax !== undefined) m.set(4, p.fileBytesMax)
  if (p.fileRetentionSeconds !== undefined) m.set(5, p.fileRetentionSeconds)
  if (p.legalHold === true) m.set(6, true)
  if (p.closedAtMs !== undefined) m.set(7, p.closedAtMs)
  return m
}

/** The canonical CBOR value of a change (checked: encoding something we would refuse to decode throws). */
function changeValue (c: Change): CborMap {
  const m = new Map<number, CborValue>([[K.op, c.op]])
  switch (c.op) {
    case 'create':
      m.set(K.ed, checkLength(c.ownerEd, edKeyLength, 'owner Ed25519 key')).set(K.x, checkLength(c.ownerX, xKeyLength, 'owner X25519 key'))
      m.set(K.value, policyValue(c.policy)).set(K.nonce, checkLength(c.nonce, genesisNonceBytes, 'genesis nonce'))
      if (c.ownerCertificate !== undefined) m.set(K.certificate, c.ownerCertificate)
      break
    case 'add':
      m.set(K.ed, checkLength(c.memberEd, edKeyLength, 'member Ed25519 key')).set(K.x, checkLength(c.memberX, xKeyLength, 'member X25519 key')).set(K.value, c.role)
      if (c.memberCertificate !== undefined) m.set(K.certificate, c.memberCertificate)
      break
    case 'remove':
      m.set(K.ed, checkLength(c.memberEd, edKeyLength, 'member Ed25519 key')).set(K.cutSeq, c.cutSeq)
      break
    case 'role':
      m.set(K.ed, checkLength(c.memberEd, edKeyLength, 'member Ed25519 key')).set(K.value, c.role)
      break
    case 'policy':
      m.set(K.value, policyValue(c.policy))
      break
  }
  return m
}

export function encodeChange (change: Change): Uint8Array {
  const bytes = encodeCanonical(changeValue(change))
  decodeChange(bytes) // one definition of validity: never sign what a peer would refuse
  return bytes
}

function readPolicy (v: CborValue | undefined, what: string): Policy {
  const m = onlyKeys(asMap(v, what), [0, 1, 2, 3, 4, 5, 6, 7], what)
  const retentionSeconds = asUint(field(m, 0, what), `${what} retention`, retentionSecondsMax, ttlSecondsMin)
  const list = asArray(field(m, 1, what), `${what} precedences`, { min: 1, max: precedenceNames.length })
  const allowedPrecedence = list.map((p, i) => {
    const n = asUint(p, `${what} precedence ${i}`, precedenceNames.length - 1)
    if (i > 0 && n <= (list[i - 1] as number)) throw new DecodeError(`${what} precedences must be ascending and unique`)
    return n as Precedence
  })
  const who = asText(field(m, 2, what), `${what} whoMayPost`)
  if (!(postRoleNames as readonly string[]).includes(who)) throw new DecodeError(`${what} whoMayPost must be member or admin, got ${JSON.stringify(who)}`)
  const policy: Policy = { retentionSeconds, allowedPrecedence, whoMayPost: who as PostRole }
  if (m.has(3)) policy.textBytesMax = asUint(m.get(3), `${what} textBytesMax`, policyBytesMax, 1)
  if (m.has(4)) policy.fileBytesMax = asUint(m.get(4), `${what} fileBytesMax`, policyBytesMax, 1)
  if (m.has(5)) policy.fileRetentionSeconds = asUint(m.get(5), `${what} fileRetentionSeconds`, retentionSecondsMax, ttlSecondsMin)
  if (m.has(6)) {
    // One byte form: a hold is written as true, no hold by leaving the key out.
    if (!asBool(m.get(6), `${what} legalHold`)) throw new DecodeError(`${what} legalHold is written only as true`)
    policy.legalHold = true
  }
  if (m.has(7)) policy.closedAtMs = asUint(m.get(7), `${what} closedAtMs`, Number.MAX_SAFE_INTEGER)
  return policy
}

/**
 * A change's user certificate, when it carries one: it must decode, certify a user, and name
 * exactly the keys the change names (so it cannot be lifted onto another member). Whether its
 * organisation is trusted, its signature and its validity are judged by whoever trusts or not.
 */
function readCertificate (v: CborValue | undefined, ed: Uint8Array, x: Uint8Array, op: string): Uint8Array | undefined {
  if (v === undefined) return undefined
  const bytes = asBytes(v, `${op} certificate`, { min: 1, max: orgDocumentBytesMax })
  const c = decodeCertificate(bytes)
  if (c.kind !== 'user') throw new DecodeError(`${op} certificate certifies a ${c.kind}, not a user`)
  if (!bytesEqual(c.subject.subarray(0, edKeyLength), ed) || !bytesEqual(c.subject.subarray(edKeyLength), x)) throw new DecodeError(`${op} certificate is for other keys than the ${op === 'create' ? 'owner' : 'member'}'s`)
  return bytes
}

function readRole (v: CborValue | undefined, what: string): Role {
  const text = asText(v, what)
  if (!isRole(text)) throw new DecodeError(`unknown role ${JSON.stringify(text)} at ${what}`)
  return text
}

/** Strict decode of a governance body; throws DecodeError (or LimitError) on anything else. */
export function decodeChange (bytes: Uint8Array): Change {
  const what = 'governance change'
  const m = asMap(decodeStrict(bytes), what)
  const op = asText(field(m, K.op, what), `${what} op`)
  if (!Object.hasOwn(opKeys, op)) throw new DecodeError(`unknown governance op ${JSON.stringify(op)}`)
  onlyKeys(m, [...opKeys[op as ChangeOp], ...(optionalKeys[op as ChangeOp] ?? [])], `${what} ${op}`)
  for (const k of opKeys[op as ChangeOp]) field(m, k, `${what} ${op}`)
  const ed = (): Uint8Array => asBytes(m.get(K.ed), `${op} member key`, edKeyLength)
  const x = (): Uint8Array => asBytes(m.get(K.x), `${op} X25519 key`, xKeyLength)
  switch (op as ChangeOp) {
    case 'create': {
      const change: CreateChange = { op: 'create', ownerEd: ed(), ownerX: x(), policy: readPolicy(m.get(K.value), 'create policy'), nonce: asBytes(m.get(K.nonce), 'create nonce', genesisNonceBytes) }
      const certificate = readCertificate(m.get(K.certificate), change.ownerEd, change.ownerX, 'create')
      return certificate === undefined ? change : { ...change, ownerCertificate: certificate }
    }
    case 'add': {
      const change: AddChange = { op: 'add', memberEd: ed(), memberX: x(), role: readRole(m.get(K.value), 'add role') }
      const certificate = readCertificate(m.get(K.certificate), change.memberEd, change.memberX, 'add')
      return certificate === undefined ? change : { ...change, memberCertificate: certificate }
    }
    case 'remove':
      return { op: 'remove', memberEd: ed(), cutSeq: asUint(m.get(K.cutSeq), 'remove cutSeq') }
    case 'role':
      return { op: 'role', memberEd: ed(), role: readRole(m.get(K.value), 'role role') }
    case 'policy':
      return { op: 'policy', policy: readPolicy(m.get(K.value), 'policy') }
  }
}

/** The owner's or member's keys and user certificate a `create` or `add` carries (#29); undefined for other changes and for one without a certificate. */
export function certifiedMember (change: Change): { ed: Uint8Array, x: Uint8Array, certificate: Uint8Array } | undefined {
  if (change.op === 'create' && change.ownerCertificate !== undefined) return { ed: change.ownerEd, x: change.ownerX, certificate: change.ownerCertificate }
  if (change.op === 'add' && change.memberCertificate !== undefined) return { ed: change.memberEd, x: change.memberX, certificate: change.memberCertificate }
  return undefined
}

/** The canonical CBOR value of a policy, for state encodings. */
export function policyCbor (p: Policy): CborMap {
  return policyValue(p)
}
