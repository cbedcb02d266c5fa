/**
 * The envelope: the one signed, self-describing unit that relays store and forward.
 * A fixed binary layout (grammar in docs/PROTOCOL.md) rather than CBOR, because it
 * is the hot path and the smallest honest form: one byte form per envelope,
 * canonical varints, no keys, no tags, nothing optional but the dependency list.
 *
 *   envelope = head channel author seq hlc-ms hlc-c ttl epoch deps body sig
 *   head     = u8: version(3 bits) kind(3 bits) precedence(2 bits)
 *
 * Relays can read every header field (to route, order, expire and authorise) but
 * never the body, which is ciphertext sealed by the channel's members.
 *
 * @example
 * const bytes = signEnvelope(crypto, fields, authorKeys.privateKey)
 * const env = decodeEnvelope(bytes)        // strict; throws DecodeError / LimitError
 * verifyEnvelope(crypto, env, authorPublicKey, wallMs)  // throws SignatureError / ExpiredError / ClockSkewError
 */
import { binaryString, ByteReader, ByteWriter, bytesEqual, compareBytes, utf8, varintLength } from './bytes.ts'
import { DecodeError, ExpiredError, LimitError, SignatureError } from './errors.ts'
import { checkNotFarFuture, hlcMsMax, type Hlc } from './hlc.ts'
import { envelopeBodyBytesMax, envelopeBytesMax, envelopeDepsMax, ttlSecondsMax, ttlSecondsMin } from './limits.ts'
import type { Crypto } from './ports.ts'

export const envelopeVersion = 1

/** Envelope kinds. The kind is in the signed bytes and in the signature's domain label. */
export const Kind = {
  message: 0,
  governance: 1,
  receipt: 2,
  keys: 3,
  state: 4,
  /** One piece of a long message or file: its manifest (index 0) or a chunk (protocol/files/piece.ts, #23). */
  file: 5,
  /**
   * An organisation's revocation of one of its certificates (#29, protocol/org/revocation-envelope.ts):
   * signed by the organisation key, in that organisation's own channel, so revocations travel
   * from relay to relay as any envelope does.
   */
  revocation: 6,
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]
export const kindNames = ['message', 'governance', 'receipt', 'keys', 'state', 'file', 'revocation'] as const

/** ACP 127 precedence, most urgent first: smaller number, earlier service. */
export const Precedence = {
  flash: 0,
  immediate: 1,
  priority: 2,
  routine: 3,
} as const
export type Precedence = (typeof Precedence)[keyof typeof Precedence]
export const precedenceNames = ['flash', 'immediate', 'priority', 'routine'] as const
export type PrecedenceName = (typeof precedenceNames)[number]

export const channelRefBytes = 8
export const authorRefBytes = 8
export const idBytes = 32
export const signatureBytes = 64
const hlcMsBytes = 6

/** Everything the author decides; the signature and id follow from it. */
export interface EnvelopeFields {
  kind: Kind
  precedence: Precedence
  /** Short channel reference: the first 8 bytes of SHA-256 of the channel genesis body (the genesis envelope carries it, so it cannot be the genesis id). */
  channel: Uint8Array
  /** Short author reference: the first 8 bytes of the author's Ed25519 public key. */
  author: Uint8Array
  /** Per (channel, author) sequence, from 1. */
  seq: number
  hlc: Hlc
  /** Time to live, seconds after `hlc.ms`. */
  ttlSeconds: number
  /** Content key epoch the body is sealed under (0 for kinds that are not sealed). */
  epoch: number
  /** Causal dependencies (envelope ids), sorted ascending, no duplicates. */
  deps: Uint8Array[]
  /** Ciphertext (or, for governance, the signed public change). */
  body: Uint8Array
}

export interface Envelope extends EnvelopeFields {
  signature: Uint8Array
  /** SHA-256 of the complete envelope bytes. */
  id: Uint8Array
  /** The exact bytes received or produced (one byte form per envelope). */
  bytes: Uint8Array
  /** Length of the signed prefix (everything before the signature). */
  signedLength: number
  /** hlc.ms + ttl, ms. */
  expiresAtMs: number
  /**
   * The id as a binary string (one char per byte): the map key a relay files the
   * envelope under. Made once here, not per lookup; a node handles each envelope in
   * several maps, and a fleet that shares decoded envelopes shares this string too.
   */
  key: string
  /** Channel and author references as one binary string: the key of the (channel, author) stream. */
  stream: string
}

/** The author reference for a public key. */
export function authorRef (publicKey: Uint8Array): Uint8Array {
  return publicKey.slice(0, authorRefBytes)
}

/**
 * Kinds that never expire at a relay (#25): governance and key distribution. A channel lives
 * as long as its owners want; whoever joins it in year two, or comes back after months away,
 * needs every change and the keys to read what is retained, so relays keep and serve them
 * for the channel's whole life whatever their TTL (docs/CHANNELS.md "Lifetime"). Their
 * number is bounded per channel (`governanceChangesMax`, `keysChunksMax` per epoch). An
 * organisation's revocations too (#29): a revoked certificate stays revoked until it would
 * have expired, and relays met years later must still learn of it (`orgRevocationsMax`).
 */
export function isLasting (kind: number): boolean {
  return kind === Kind.governance || kind === Kind.keys || kind === Kind.revocation
}

/** The expiry of a lasting envelope: never, in a form every index can hold (u48 ms: the year 10889). */
export const lastingExpiresAtMs = 2 ** 48 - 1

/** When a relay lets an envelope go, ms: its stamp plus its TTL, or never for a lasting kind. */
export function expiresAtMs (fields: Pick<EnvelopeFields, 'kind' | 'hlc' | 'ttlSeconds'>): number {
  return isLasting(fields.kind) ? lastingExpiresAtMs : fields.hlc.ms + fields.ttlSeconds * 1000
}

const labels = kindNames.map(name => utf8(`ddil/v1/envelope/${name}\n`))

/** Domain-separation label signed before the envelope bytes, one per kind. */
export function signatureLabel (kind: Kind): Uint8Array {
  return labels[kind]
}

function checkFields (f: EnvelopeFields): void {
  if (!Number.isInteger(f.kind) || f.kind < 0 || f.kind >= kindNames.length) throw new DecodeError(`unknown envelope kind ${f.kind}`)
  if (!Number.isInteger(f.precedence) || f.precedence < 0 || f.precedence > 3) throw new DecodeError(`unknown precedence ${f.precedence}`)
  if (f.channel.length !== channelRefBytes) throw new DecodeError(`channel reference must be ${channelRefBytes} bytes`)
  if (f.author.length !== authorRefBytes) throw new DecodeError(`author reference must be ${authorRefBytes} bytes`)
  if (!Number.isSafeInteger(f.seq) || f.seq < 1) throw new DecodeError(`sequence must be a positive integer, got ${f.seq}`)
  if (!Number.isSafeInteger(f.hlc.ms) || f.hlc.ms < 0 || f.hlc.ms > hlcMsMax) throw new DecodeError('timestamp out of range')
  if (!Number.isSafeInteger(f.hlc.c) || f.hlc.c < 0 || f.hlc.c > 0xffff) throw new DecodeError('timestamp counter out of range')
  if (!Number.isSafeInteger(f.ttlSeconds) || f.ttlSeconds < ttlSecondsMin || f.ttlSeconds > ttlSecondsMax) {
    throw new LimitError(`ttl must be ${ttlSecondsMin}..${ttlSecondsMax} s, got ${f.ttlSeconds}`)
  }
  if (!Number.isSafeInteger(f.epoch) || f.epoch < 0) throw new DecodeError('epoch must be a non-negative integer')
  if (f.deps.length > envelopeDepsMax) throw new LimitError(`${f.deps.length} dependencies exceed ${envelopeDepsMax}`)
  for (let i = 0; i < f.deps.length; i++) {
    if (f.deps[i].length !== idBytes) throw new DecodeError('dependency must be a 32-byte id')
    if (i > 0 && compareBytes(f.deps[i - 1], f.deps[i]) >= 0) throw new DecodeError('dependencies must be sorted and unique')
  }
  if (f.body.length > envelopeBodyBytesMax) throw new LimitError(`body of ${f.body.length} bytes exceeds ${envelopeBodyBytesMax}`)
}

/** The signed prefix: every field but the signature. */
export function encodeUnsigned (f: EnvelopeFields): Uint8Array {
  checkFields(f)
  const size = 1 + channelRefBytes + authorRefBytes + varintLength(f.seq) + hlcMsBytes + varintLength(f.hlc.c) +
    varintLength(f.ttlSeconds) + varintLength(f.epoch) + varintLength(f.deps.length) + f.deps.length * idBytes + f.body.length
  if (size + signatureBytes > envelopeBytesMax) throw new LimitError(`envelope of ${size + signatureBytes} bytes exceeds ${envelopeBytesMax}`)
  const w = new ByteWriter(size)
  w.u8((envelopeVersion << 5) | (f.kind << 2) | f.precedence)
  w.bytes(f.channel)
  w.bytes(f.author)
  w.varint(f.seq)
  w.uintBE(f.hlc.ms, hlcMsBytes)
  w.varint(f.hlc.c)
  w.varint(f.ttlSeconds)
  w.varint(f.epoch)
  w.varint(f.deps.length)
  for (const d of f.deps) w.bytes(d)
  w.bytes(f.body)
  return w.finish()
}

/** Sign and encode. The author's public key prefix must match `fields.author`. */
export function signEnvelope (crypto: Crypto, fields: EnvelopeFields, privateKey: Uint8Array): Envelope {
  const unsigned = encodeUnsigned(fields)
  const signature = crypto.ed25519Sign(privateKey, signingInput(fields.kind, unsigned))
  const bytes = new Uint8Array(unsigned.length + signatureBytes)
  bytes.set(unsigned)
  bytes.set(signature, unsigned.length)
  return {
    ...fields,
    deps: fields.deps.map(d => d.slice()),
    signature,
    bytes,
    signedLength: unsigned.length,
    expiresAtMs: expiresAtMs(fields),
    ...derivedKeys(crypto.sha256(bytes), fields),
  }
}

function signingInput (kind: Kind, unsigned: Uint8Array): Uint8Array {
  const label = signatureLabel(kind)
  const input = new Uint8Array(label.length + unsigned.length)
  input.set(label)
  input.set(unsigned, label.length)
  return input
}

/**
 * The bytes a signature covers: the kind's label, then the unsigned envelope. A decoded
 * envelope carries its label just before its bytes (see decodeEnvelope), so this is
 * usually a view, not a copy; any other envelope gets a fresh buffer. The label is
 * compared before the view is trusted, so the answer never depends on where bytes came from.
 */
function signedBytes (env: Envelope): Uint8Array {
  const label = labels[env.kind]
  const b = env.bytes
  if (b.byteOffset >= label.length) {
    const view = new Uint8Array(b.buffer, b.byteOffset - label.length, label.length + env.signedLength)
    if (bytesEqual(view.subarray(0, label.length), label)) return view
  }
  return signingInput(env.kind, b.subarray(0, env.signedLength))
}

/**
 * Strict decode. Checks the size limit before reading, every field's range, canonical
 * varints, sorted dependencies and the exact length. Does not verify the signature.
 * The returned envelope's byte fields are copies, safe to keep. The copy is made with
 * the kind's signature label in front of it, so that verifying needs no second copy
 * (a relay decodes and verifies every envelope it receives).
 */
export function decodeEnvelope (input: Uint8Array, sha256: (b: Uint8Array) => Uint8Array): Envelope {
  if (input.length > envelopeBytesMax) throw new LimitError(`envelope of ${input.length} bytes exceeds ${envelopeBytesMax}`)
  if (input.length < 1 + channelRefBytes + authorRefBytes + 1 + hlcMsBytes + 4 + signatureBytes) throw new DecodeError('envelope too short')
  const label = labels[(input[0] >> 2) & 0x07] ?? new Uint8Array(0) // an unknown kind is refused below
  const labelled = new Uint8Array(label.length + input.length)
  labelled.set(label)
  labelled.set(input, label.length)
  const bytes = labelled.subarray(label.length)
  const r = new ByteReader(bytes, bytes.length - signatureBytes)
  const head = r.u8()
  const version = head >> 5
  if (version !== envelopeVersion) throw new DecodeError(`unsupported envelope version ${version}`)
  const kind = ((head >> 2) & 0x07) as Kind
  const precedence = (head & 0x03) as Precedence
  const channel = r.bytes(channelRefBytes)
  const author = r.bytes(authorRefBytes)
  const seq = r.varint()
  const hlc = { ms: r.uintBE(hlcMsBytes), c: r.varint() }
  const ttlSeconds = r.varint()
  const epoch = r.varint()
  const depCount = r.varint()
  if (depCount > envelopeDepsMax) throw new LimitError(`${depCount} dependencies exceed ${envelopeDepsMax}`)
  r.need(depCount * idBytes)
  const deps: Uint8Array[] = []
  for (let i = 0; i < depCount; i++) deps.push(r.bytes(idBytes))
  const body = r.bytes(r.remaining())
  const fields: EnvelopeFields = { kind, precedence, channel, author, seq, hlc, ttlSeconds, epoch, deps, body }
  checkFields(fields)
  const signedLength = r.offset
  return {
    ...fields,
    signature: bytes.subarray(signedLength),
    bytes,
    signedLength,
    expiresAtMs: expiresAtMs(fields),
    ...derivedKeys(sha256(bytes), fields),
  }
}

function derivedKeys (id: Uint8Array, f: Pick<EnvelopeFields, 'channel' | 'author'>): Pick<Envelope, 'id' | 'key' | 'stream'> {
  const stream = new Uint8Array(channelRefBytes + authorRefBytes)
  stream.set(f.channel)
  stream.set(f.author, channelRefBytes)
  return { id, key: binaryString(id), stream: binaryString(stream) } // one flat string, not a concatenation
}

/** Whether `author` is `publicKey`'s reference (its first bytes), compared in place: every received envelope asks. */
function isAuthorOf (publicKey: Uint8Array, author: Uint8Array): boolean {
  if (publicKey.length < authorRefBytes || author.length !== authorRefBytes) return false
  for (let i = 0; i < authorRefBytes; i++) if (publicKey[i] !== author[i]) return false
  return true
}

/** Throws SignatureError unless `publicKey` is the author's and signed exactly these bytes as this kind. */
export function verifySignature (crypto: Crypto, env: Envelope, publicKey: Uint8Array): void {
  if (!isAuthorOf(publicKey, env.author)) throw new SignatureError('public key does not match the author reference')
  if (!crypto.ed25519Verify(publicKey, signedBytes(env), env.signature)) {
    throw new SignatureError('signature does not verify')
  }
}

/** Expiry and far-future checks against the receiver's wall clock. */
export function checkTimely (env: Envelope, wallMs: number): void {
  if (env.expiresAtMs <= wallMs) throw new ExpiredError(`envelope expired ${wallMs - env.expiresAtMs} ms ago`)
  checkNotFarFuture(env.hlc, wallMs)
}

/** All checks a relay makes without channel state: signature, expiry, far future. */
export function verifyEnvelope (crypto: Crypto, env: Envelope, publicKey: Uint8Array, wallMs: number): void {
  checkTimely(env, wallMs)
  verifySignature(crypto, env, publicKey)
}

