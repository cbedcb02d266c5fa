/**
 * Message, receipt and state bodies: AES-256-GCM under a per-author subkey of the epoch
 * key, nonce = the envelope's 12-byte big-endian seq, associated data = the envelope
 * header fields that name the message (kind, precedence, channel, author, seq, epoch).
 * A relay that changes any of them, or the ciphertext, makes the body fail to open.
 *
 *   plaintext = content-type (1 B) || payload        body = ciphertext || tag (16 B)
 *   aad       = canonical CBOR [kind, precedence, channelRef(8), authorEd(32), seq, epoch]
 *
 * Encryption adds exactly 17 bytes to a payload. Pure: no randomness is needed because
 * the nonce is the sequence number, which the caller persists before use.
 *
 * @example
 * const header = { kind: Kind.message, precedence: Precedence.routine, channel: ref, author: me.ed, seq: 7, epoch: 2 }
 * const body = encryptContent(crypto, { channelId, epochKey, header, contentType: ContentType.text, payload: utf8('hi') })
 * decryptContent(crypto, { channelId, keys: ring.keysFor(2), header, body }) // { contentType: 1, payload }
 */
import { encodeCanonical } from '../cbor.ts'
import { CryptoError, DecodeError, LimitError, ProtocolError } from '../errors.ts'
import { Kind } from '../envelope.ts'
import { envelopeBodyBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { channelRefBytes, checkKeyLength, edKeyBytes, epochMax, messageSubkey, seqNonce, tagBytes } from './derive.ts'

/** First plaintext byte: what the payload is. */
export const ContentType = {
  text: 0x01,
  yjsUpdate: 0x02,
  receipt: 0x03,
  /** A read receipt (kind receipt): the same payload as a receipt; a read implies delivered. */
  read: 0x04,
  /** A member's display name (kind state), protocol/channel/profile.ts. */
  profile: 0x05,
  /** A file's or long message's manifest (kind file, piece 0), protocol/files/format.ts. */
  fileManifest: 0x06,
  /** One chunk of a file or long message (kind file, piece 1…), protocol/files/format.ts. */
  fileChunk: 0x07,
  /** How much of a file a member holds (kind receipt), protocol/files/progress.ts. */
  fileProgress: 0x08,
} as const
export type ContentType = (typeof ContentType)[keyof typeof ContentType]
const contentTypes: ReadonlySet<number> = new Set(Object.values(ContentType))

/** Envelope kinds whose bodies are sealed under an epoch key. */
export const sealedKinds: ReadonlySet<number> = new Set([Kind.message, Kind.receipt, Kind.state, Kind.file])

/** Bytes encryption adds to a payload: the content-type byte and the AEAD tag. */
export const contentOverheadBytes = 1 + tagBytes

/** Largest payload that still fits one envelope body. */
export const contentPayloadBytesMax = envelopeBodyBytesMax - contentOverheadBytes

export interface ContentHeader {
  kind: number
  precedence: number
  /** The envelope's 8-byte channel reference. */
  channel: Uint8Array
  /** The author's full Ed25519 public key (the envelope carries its 8-byte prefix). */
  author: Uint8Array
  seq: number
  epoch: number
}

export interface EncryptInput {
  channelId: Uint8Array
  epochKey: Uint8Array
  header: ContentHeader
  contentType: number
  payload: Uint8Array
}

export interface DecryptInput {
  channelId: Uint8Array
  /** Every key held for `header.epoch` (concurrent epochs share a number). */
  keys: Uint8Array[]
  header: ContentHeader
  body: Uint8Array
}

export interface Content {
  contentType: ContentType
  payload: Uint8Array
}

function checkHeader (h: ContentHeader): void {
  if (!sealedKinds.has(h.kind)) throw new ProtocolError(`envelope kind ${h.kind} is not sealed content`)
  if (!Number.isInteger(h.precedence) || h.precedence < 0 || h.precedence > 3) throw new DecodeError(`unknown precedence ${h.precedence}`)
  if (h.channel.length !== channelRefBytes) throw new DecodeError('channel reference must be 8 bytes')
  checkKeyLength(h.author, edKeyBytes, 'author Ed25519 key')
  if (!Number.isInteger(h.epoch) || h.epoch < 1 || h.epoch > epochMax) throw new DecodeError(`sealed content needs an epoch in 1..${epochMax}, got ${h.epoch}`)
  seqNonce(h.seq) // range check
}

/** The associated data: one canonical byte form of the header fields. */
export function contentAad (h: ContentHeader): Uint8Array {
  checkHeader(h)
  return encodeCanonical([h.kind, h.precedence, h.channel, h.author, h.seq, h.epoch])
}

export function encryptContent (crypto: Crypto, input: EncryptInput): Uint8Array {
  const aad = contentAad(input.header)
  if (!contentTypes.has(input.contentType)) throw new ProtocolError(`unknown content type ${input.contentType}`)
  if (input.payload.length > contentPayloadBytesMax) throw new LimitError(`payload of ${input.payload.length} bytes exceeds ${contentPayloadBytesMax}`)
  const plaintext = new Uint8Array(1 + input.payload.length)
  plaintext[0] = input.contentType
  plaintext.set(input.payload, 1)
  const { channelId, epochKey, header } = input
  const key = messageSubkey(crypto, channelId, epochKey, header.author, header.kind)
  return crypto.aesGcmSeal(key, seqNonce(header.seq), plaintext, aad)
}

/**
 * Try each key for the epoch; CryptoError when none opens (wrong epoch, tampered body or
 * header, or no key held: check `keysFor(epoch).length` first to tell "wait for keys" apart).
 */
export function decryptContent (crypto: Crypto, input: DecryptInput): Content {
  const aad = contentAad(input.header)
  if (input.body.length > envelopeBodyBytesMax) throw new LimitError(`body of ${input.body.length} bytes exceeds ${envelopeBodyBytesMax}`)
  if (input.keys.length === 0) throw new CryptoError(`no key held for epoch ${input.header.epoch}`)
  const { header } = input
  const nonce = seqNonce(header.seq)
  let failure: unknown
  for (const epochKey of input.keys) {
    const key = messageSubkey(crypto, input.channelId, epochKey, header.author, header.kind)
    let plaintext: Uint8Array
    try {
      plaintext = crypto.aesGcmOpen(key, nonce, input.body, aad)
    } catch (cause) {
      failure = cause
      continue
    }
    // Authenticated, so a member wrote it: a bad type here is a malformed message, not tampering.
    if (plaintext.length === 0 || !contentTypes.has(plaintext[0])) throw new DecodeError(`unknown content type ${plaintext[0]}`)
    return { contentType: plaintext[0] as ContentType, payload: plaintext.subarray(1) }
  }
  throw new CryptoError(`body does not open under any of ${input.keys.length} key(s) for epoch ${header.epoch}`, { cause: failure })
}
