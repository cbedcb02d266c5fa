/**
 * The client API's messages (grammar in docs/CLIENT-API.md): JSON text frames, one object
 * each, byte fields as unpadded base64url. A table of fields per message type drives both
 * directions, so encode and decode are one symmetric pair: encode checks and writes the fields
 * in table order (it refuses what decode would, so a bad value fails where it was made, not
 * at the other end); decode accepts exactly the table's fields (unknown or missing ones are a
 * DecodeError, an unknown type a ProtocolError, oversized byte fields a LimitError). List
 * fields hold objects decoded by a table of their own, with the same strictness.
 * Pure (no Buffer, no node:*): a browser page can share it.
 *
 * @example
 * const text = encodeClientMessage({ type: 'stamp', rid: 1 })   // '{"type":"stamp","rid":1}'
 * decodeClientMessage(text)                                     // { type: 'stamp', rid: 1 }
 */
import { DecodeError, LimitError, ProtocolError } from '../../protocol/errors.ts'
import { hlcMsMax } from '../../protocol/hlc.ts'
import { channelRefBytes, idBytes } from '../../protocol/envelope.ts'
import { bundleChannelsMax, bundleNodeIdBytesMax, displayNameCharsMax, hlcCounterMax, submitBatchEnvelopesMax } from '../../protocol/limits.ts'
import { displayNameProblem } from '../../protocol/channel/profile.ts'
import { roleNames, type Role } from '../../protocol/channel/roles.ts'
import { authNonceBytes, publicKeyBytes, signatureBytes } from './auth.ts'
import { base64urlLength, fromBase64url, toBase64url } from './base64url.ts'
import { isWireErrorCode, type WireErrorCode } from './errors.ts'
import { backlogEnvelopesMax, bundlePathCharsMax, channelListMax, enrolledClientsMax, filePageEnvelopesMax, enrolmentCodeCharsMax, enrolmentTtlMsMax, ridCharsMax, submitEnvelopeBytesMax } from './limits.ts'

/** Version in the challenge; a client that does not speak it must disconnect. 2: enrolment, channel list, client management. */
export const clientApiVersion = 2

/** A client-chosen request id, echoed in the reply: a non-negative safe integer or a short string. */
export type Rid = number | string

export type ClientMessage =
  | { type: 'auth', rid: Rid, publicKey: Uint8Array, signature: Uint8Array }
  | { type: 'submit', rid: Rid, envelope: Uint8Array }
  | { type: 'subscribe', rid: Rid, channel: Uint8Array, backlog: number }
  | { type: 'unsubscribe', rid: Rid, channel: Uint8Array }
  | { type: 'stamp', rid: Rid }
  | { type: 'status', rid: Rid }
  | { type: 'enrol', rid: Rid, code: string, publicKey: Uint8Array, xPublicKey: Uint8Array, name: string }
  | { type: 'channels', rid: Rid }
  | { type: 'enrolment', rid: Rid, name: string, ttlMs: number }
  | { type: 'revokeClient', rid: Rid, publicKey: Uint8Array }
  | { type: 'clientList', rid: Rid }
  /** A file's chunks (#23), in order; every envelope is checked and stored as by `submit`. */
  | { type: 'submitBatch', rid: Rid, envelopes: Array<{ envelope: Uint8Array }> }
  /** One page of a file's pieces held here (#23): the manifest `id`'s file, after piece id `after`. */
  | { type: 'filePage', rid: Rid, channel: Uint8Array, id: Uint8Array, after?: Uint8Array }
  /**
   * Operator only (#27): the relay writes a signed bundle file at `path` (absolute, on the relay's machine). `precedences`: bit mask, 1..15.
   * `forNodeId`: leave out what that node's newest imported bundle said it holds.
   */
  | { type: 'bundleExport', rid: Rid, path: string, channels: Array<{ channel: Uint8Array }>, precedences: number, sinceMs: number, forNodeId?: string }
  /** Operator only (#27): the relay reads, verifies and imports the bundle file at `path`. */
  | { type: 'bundleImport', rid: Rid, path: string }

export type MessageState = 'queued' | 'relayed' | 'delivered' | 'expired' | 'refused'
export const messageStates: readonly MessageState[] = ['queued', 'relayed', 'delivered', 'expired', 'refused']

/**
 * Delivery status of one envelope. `relayedTo`: peers it was handed to; `deliveredTo` of `of`:
 * recipients whose receipts arrived ("delivered to k of N"), once receipts exist; `reason`:
 * why it expired or was refused. `boundary`: why it did not cross to a partner organisation
 * (#29: a gateway's policy, here or the partner's), while it may still reach everyone on this side.
 */
export interface MessageStatus {
  state: MessageState
  relayedTo?: number
  deliveredTo?: number
  of?: number
  reason?: string
  boundary?: string
}

/** A channel whose signed governance lists the user as a current member, as the relay verified it. */
export interface ChannelMembership { channel: Uint8Array, role: Role, members: number }

/** An enrolled device: its user keys, the name it is known by, and when it was enrolled (and revoked). */
export interface ClientRecord { publicKey: Uint8Array, xPublicKey: Uint8Array, name: string, enrolledAtMs: number, revokedAtMs?: number }

export type StatusPush = { type: 'status', id: Uint8Array } & MessageStatus

export type ServerMessage =
  | { type: 'challenge', v: number, nonce: Uint8Array, nodeId: string }
  | { type: 'authed', rid: Rid, user: Uint8Array }
  | { type: 'submitted', rid: Rid, id: Uint8Array }
  | { type: 'subscribed', rid: Rid, channel: Uint8Array, backlog: number }
  | { type: 'unsubscribed', rid: Rid, channel: Uint8Array }
  | { type: 'stamped', rid: Rid, ms: number, c: number }
  | { type: 'nodeStatus', rid: Rid, status: Record<string, unknown> }
  | { type: 'envelope', channel: Uint8Array, id: Uint8Array, envelope: Uint8Array }
  | { type: 'enrolled', rid: Rid, user: Uint8Array }
  | { type: 'channelList', rid: Rid, channels: ChannelMembership[] }
  | { type: 'enrolmentCode', rid: Rid, code: string, expiresAtMs: number }
  | { type: 'revoked', rid: Rid }
  | { type: 'clients', rid: Rid, clients: ClientRecord[] }
  | { type: 'submittedBatch', rid: Rid, count: number }
  /** `more`: 1 when another page may follow (ask again with `after`, the last id looked at), 0 at the end. */
  | { type: 'filePieces', rid: Rid, pieces: Array<{ id: Uint8Array, envelope: Uint8Array }>, more: number, after?: Uint8Array }
  /** `leftOut`: with `forNodeId` only, the envelopes of the exported channels not written because that node holds them. */
  | { type: 'bundleExported', rid: Rid, envelopes: number, bytes: number, hash: string, leftOut?: number }
  /** `reasons`: refused envelopes by reason, e.g. { unauthorised: 2, expired: 1 }. */
  | { type: 'bundleImported', rid: Rid, nodeId: string, envelopes: number, added: number, held: number, refused: number, reasons: Record<string, number> }
  | StatusPush
  | { type: 'error', rid: Rid | null, code: WireErrorCode, message: string }

type Field =
  | { name: string, kind: 'rid' | 'ridOrNull' | 'json' | 'state' | 'code', optional?: boolean }
  | { name: string, kind: 'bytes', length?: number, max?: number, optional?: boolean }
  | { name: string, kind: 'uint', max: number, optional?: boolean }
  | { name: string, kind: 'text', max: number, optional?: boolean }
  /** A display name (protocol/channel/profile.ts's rules); `empty`: '' is allowed too. */
  | { name: string, kind: 'name', empty?: boolean, optional?: boolean }
  | { name: string, kind: 'enum', values: readonly string[], optional?: boolean }
  /** An array of at most `max` objects with exactly the `item` fields. */
  | { name: string, kind: 'list', max: number, item: Field[], optional?: boolean }

const rid: Field = { name: 'rid', kind: 'rid' }
const channel: Field = { name: 'channel', kind: 'bytes', length: channelRefBytes }
const id: Field = { name: 'id', kind: 'bytes', length: idBytes }
const envelope: Field = { name: 'envelope', kind: 'bytes', max: submitEnvelopeBytesMax }
const count = (name: string, optional = false): Field => ({ name, kind: 'uint', max: Number.MAX_SAFE_INTEGER, optional })
const userKey = (name: string): Field => ({ name, kind: 'bytes', length: publicKeyBytes })
const timeMs = (name: string, optional = false): Field => ({ name, kind: 'uint', max: hlcMsMax, optional })
const membership: Field[] = [channel, { name: 'role', kind: 'enum', values: roleNames }, count('members')]
const bundlePath: Field = { name: 'path', kind: 'text', max: bundlePathCharsMax }
const clientRecord: Field[] = [userKey('publicKey'), userKey('xPublicKey'), { name: 'name', kind: 'name' }, timeMs('enrolledAtMs'), timeMs('revokedAtMs', true)]

const clientFields: Record<ClientMessage['type'], Field[]> = {
  auth: [rid, { name: 'publicKey', kind: 'bytes', length: publicKeyBytes }, { name: 'signature', kind: 'bytes', length: signatureBytes }],
  submit: [rid, envelope],
  subscribe: [rid, channel, { name: 'backlog', kind: 'uint', max: backlogEnvelopesMax }],
  unsubscribe: [rid, channel],
  stamp: [rid],
  status: [rid],
  enrol: [rid, { name: 'code', kind: 'text', max: enrolmentCodeCharsMax }, userKey('publicKey'), userKey('xPublicKey'), { name: 'name', kind: 'name' }],
  channels: [rid],
  enrolment: [rid, { name: 'name', kind: 'name', empty: true }, { name: 'ttlMs', kind: 'uint', max: enrolmentTtlMsMax }],
  revokeClient: [rid, userKey('publicKey')],
  clientList: [rid],
  submitBatch: [rid, { name: 'envelopes', kind: 'list', max: submitBatchEnvelopesMax, item: [envelope] }],
  filePage: [rid, channel, id, { name: 'after', kind: 'bytes', length: idBytes, optional: true }],
  bundleExport: [rid, bundlePath, { name: 'channels', kind: 'list', max: bundleChannelsMax, item: [channel] }, { name: 'precedences', kind: 'uint', max: 0b1111 }, timeMs('sinceMs'), { name: 'forNodeId', kind: 'text', max: bundleNodeIdBytesMax, optional: true }],
  bundleImport: [rid, bundlePath],
}

const serverFields: Record<ServerMessage['type'], Field[]> = {
  challenge: [{ name: 'v', kind: 'uint', max: 0xffff }, { name: 'nonce', kind: 'bytes', length: authNonceBytes }, { name: 'nodeId', kind: 'text', max: 256 }],
  authed: [rid, { name: 'user', kind: 'bytes', length: publicKeyBytes }],
  submitted: [rid, id],
  subscribed: [rid, channel, { name: 'backlog', kind: 'uint', max: backlogEnvelopesMax }],
  unsubscribed: [rid, channel],
  stamped: [rid, { name: 'ms', kind: 'uint', max: hlcMsMax }, { name: 'c', kind: 'uint', max: hlcCounterMax }],
  nodeStatus: [rid, { name: 'status', kind: 'json' }],
  envelope: [channel, id, envelope],
  enrolled: [rid, { name: 'user', kind: 'bytes', length: publicKeyBytes }],
  channelList: [rid, { name: 'channels', kind: 'list', max: channelListMax, item: membership }],
  enrolmentCode: [rid, { name: 'code', kind: 'text', max: enrolmentCodeCharsMax }, timeMs('expiresAtMs')],
  revoked: [rid],
  clients: [rid, { name: 'clients', kind: 'list', max: enrolledClientsMax, item: clientRecord }],
  submittedBatch: [rid, { name: 'count', kind: 'uint', max: submitBatchEnvelopesMax }],
  bundleExported: [rid, count('envelopes'), count('bytes'), { name: 'hash', kind: 'text', max: 64 }, count('leftOut', true)],
  bundleImported: [rid, { name: 'nodeId', kind: 'text', max: 256 }, count('envelopes'), count('added'), count('held'), count('refused'), { name: 'reasons', kind: 'json' }],
  filePieces: [rid, { name: 'pieces', kind: 'list', max: filePageEnvelopesMax, item: [id, envelope] }, { name: 'more', kind: 'uint', max: 1 }, { name: 'after', kind: 'bytes', length: idBytes, optional: true }],
  status: [id, { name: 'state', kind: 'state' }, count('relayedTo', true), count('deliveredTo', true), count('of', true), { name: 'reason', kind: 'text', max: 1024, optional: true }, { name: 'boundary', kind: 'text', max: 1024, optional: true }],
  error: [{ name: 'rid', kind: 'ridOrNull' }, { name: 'code', kind: 'code' }, { name: 'message', kind: 'text', max: 4096 }],
}

export function encodeClientMessage (m: ClientMessage): string { return encode(clientFields, m) }
export function encodeServerMessage (m: ServerMessage): string { return encode(serverFields, m) }

/** Strict decode of a client frame's text. Throws DecodeError, LimitError or ProtocolError. */
export function decodeClientMessage (text: string): ClientMessage { return decodeClientObject(parseJsonObject(text)) }
export function decodeClientObject (obj: Record<string, unknown>): ClientMessage { return decode(clientFields, obj) as ClientMessage }
export function decodeServerMessage (text: string): ServerMessage { return decode(serverFields, parseJsonObject(text)) as ServerMessage }

/** Parses one JSON object (not an array, not a scalar). */
export function parseJsonObject (text: string): Record<string, unknown> {
  let value: unknown
  try { value = JSON.parse(text) } catch { throw new DecodeError('message is not valid JSON') }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DecodeError('message must be a JSON object')
  return value as Record<string, unknown>
}

/** The request id of a parsed message if it carries a valid one, else null (for error replies). */
export function ridOf (obj: Record<string, unknown>): Rid | null {
  return isRid(obj.rid) ? obj.rid : null
}

function isRid (v: unknown): v is Rid {
  return (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && v.length <= ridCharsMax)
}

function encode (table: Record<string, Field[]>, m: { type: string }): string {
  const fields = table[m.type]
  if (fields === undefined) throw new ProtocolError(`unknown message type ${m.type}`)
  return JSON.stringify({ type: m.type, ...writeObject(m.type, fields, m as unknown as Record<string, unknown>) })
}

/** The fields of `src` in table order, each checked as its decoder would check it. */
function writeObject (where: string, fields: Field[], src: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const v = src[f.name]
    if (v === undefined) {
      if (f.optional !== true) throw new DecodeError(`${where}.${f.name} is required`)
      continue
    }
    out[f.name] = writeField(where, f, v)
  }
  return out
}

function writeField (where: string, f: Field, v: unknown): unknown {
  if (v instanceof Uint8Array) return writeBytes(where, f, v)
  if (f.kind === 'list') {
    if (!Array.isArray(v)) throw new DecodeError(`${where}.${f.name} must be a list`)
    if (v.length > f.max) throw new LimitError(`${where}.${f.name} has ${v.length} items; at most ${f.max}`)
    return v.map((item, i) => writeObject(`${where}.${f.name}[${i}]`, f.item, item as Record<string, unknown>))
  }
  return readField(where, f, v)
}

/** A byte field as base64url, after the checks its decoder makes: what one side writes, the other reads. */
function writeBytes (where: string, f: Field, v: Uint8Array): string {
  if (f.kind !== 'bytes') throw new DecodeError(`${where}.${f.name} must not be bytes`)
  if (f.max !== undefined && v.length > f.max) throw new LimitError(`${where}.${f.name} exceeds ${f.max} bytes`)
  if (f.length !== undefined && v.length !== f.length) throw new DecodeError(`${where}.${f.name} must be ${f.length} bytes`)
  return toBase64url(v)
}

function decode (table: Record<string, Field[]>, obj: Record<string, unknown>): { type: string } {
  const type = obj.type
  if (typeof type !== 'string') throw new DecodeError('message has no string "type"')
  if (!Object.hasOwn(table, type)) throw new ProtocolError(`unknown message type ${JSON.stringify(type.slice(0, 32))}`)
  return { type, ...readObject(type, table[type], obj, ['type']) }
}

/** Exactly the table's fields of `obj` (besides `extra`), each read strictly. */
function readObject (where: string, fields: Field[], obj: Record<string, unknown>, extra: string[] = []): Record<string, unknown> {
  for (const key of Object.keys(obj)) {
    if (!extra.includes(key) && !fields.some(f => f.name === key)) throw new DecodeError(`${where} has unknown field ${JSON.stringify(key.slice(0, 32))}`)
  }
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const v = obj[f.name]
    if (v === undefined) {
      if (f.optional !== true) throw new DecodeError(`${where}.${f.name} is missing`)
      continue
    }
    out[f.name] = readField(where, f, v)
  }
  return out
}

function readField (type: string, f: Field, v: unknown): unknown {
  const where = `${type}.${f.name}`
  switch (f.kind) {
    case 'rid':
      if (!isRid(v)) throw new DecodeError(`${where} must be a non-negative integer or a string of at most ${ridCharsMax} characters`)
      return v
    case 'ridOrNull':
      if (v !== null && !isRid(v)) throw new DecodeError(`${where} must be a request id or null`)
      return v
    case 'json':
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DecodeError(`${where} must be an object`)
      return v
    case 'state':
      if (typeof v !== 'string' || !(messageStates as readonly string[]).includes(v)) throw new DecodeError(`${where} is not a message state`)
      return v
    case 'code':
      if (typeof v !== 'string' || !isWireErrorCode(v)) throw new DecodeError(`${where} is not a known error code`)
      return v
    case 'enum':
      if (typeof v !== 'string' || !f.values.includes(v)) throw new DecodeError(`${where} must be one of ${f.values.join(', ')}`)
      return v
    case 'uint':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new DecodeError(`${where} must be a non-negative integer`)
      if (v > f.max) throw new LimitError(`${where} of ${v} exceeds ${f.max}`)
      return v
    case 'text':
      if (typeof v !== 'string') throw new DecodeError(`${where} must be a string`)
      if (v.length > f.max) throw new LimitError(`${where} exceeds ${f.max} characters`)
      return v
    case 'name':
      return readName(where, f.empty === true, v)
    case 'list':
      if (!Array.isArray(v)) throw new DecodeError(`${where} must be a list`)
      if (v.length > f.max) throw new LimitError(`${where} has ${v.length} items; at most ${f.max}`)
      return v.map((item, i) => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new DecodeError(`${where}[${i}] must be an object`)
        return readObject(`${where}[${i}]`, f.item, item as Record<string, unknown>)
      })
    case 'bytes':
      return readBytes(where, f, v)
  }
}

function readName (where: string, empty: boolean, v: unknown): string {
  if (typeof v !== 'string') throw new DecodeError(`${where} must be a string`)
  if (v.length > displayNameCharsMax) throw new LimitError(`${where} exceeds ${displayNameCharsMax} characters`)
  if (empty && v === '') return v
  const problem = displayNameProblem(v)
  if (problem !== undefined) throw new DecodeError(`${where} ${problem}`)
  return v
}

function readBytes (where: string, f: { length?: number, max?: number }, v: unknown): Uint8Array {
  if (typeof v !== 'string') throw new DecodeError(`${where} must be a base64url string`)
  // Length checks come before decoding, so an oversized field costs no allocation.
  if (f.max !== undefined && v.length > base64urlLength(f.max)) throw new LimitError(`${where} exceeds ${f.max} bytes`)
  if (f.length !== undefined && v.length !== base64urlLength(f.length)) throw new DecodeError(`${where} must be ${f.length} bytes`)
  return fromBase64url(v)
}
