/**
 * Every key and nonce derivation of channel encryption, in one place, exactly as the
 * design contract words them (docs/CHANNELS.md "Encryption"), so that a reviewer or a
 * browser implementation can check them against one short file.
 *
 *   seal key  = HKDF-SHA256(ikm = X25519(eph, recipientX), salt = channelId,
 *                           info = "ddil/v1/epoch-key\n" || u32be(epoch) || recipientEd, 32)
 *   seal aad  = channelRef || u32be(epoch)          seal nonce = 12 zero bytes
 *   subkey    = HKDF-SHA256(ikm = epochKey, salt = channelId,
 *                           info = "ddil/v1/msg\n" || authorEd || u8(kind), 32)
 *   nonce     = u96be(seq)
 *
 * @example
 * const k = messageSubkey(crypto, channelId, epochKey, authorEd, Kind.message)
 * crypto.aesGcmSeal(k, seqNonce(7), plaintext, aad)
 */
import { concatBytes, utf8 } from '../bytes.ts'
import { CryptoError, DecodeError } from '../errors.ts'
import type { Crypto } from '../ports.ts'

export const channelIdBytes = 32
export const channelRefBytes = 8
export const edKeyBytes = 32
export const edPrefixBytes = 8
export const xKeyBytes = 32
export const epochKeyBytes = 32
export const nonceBytes = 12
export const tagBytes = 16
/** Epoch numbers are written as u32 in the seal derivation, so they stay below 2^32. */
export const epochMax = 0xffff_ffff

const sealLabel = utf8('ddil/v1/epoch-key\n')
const messageLabel = utf8('ddil/v1/msg\n')
const zeroNonce = new Uint8Array(nonceBytes)

export function u32be (n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > epochMax) throw new DecodeError(`epoch must be an integer in 0..${epochMax}, got ${n}`)
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
}

/** Throws CryptoError unless `bytes` is exactly `length` long: keys of the wrong size never reach the cipher. */
export function checkKeyLength (bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new CryptoError(`${what} must be ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`)
  }
}

/** The AES-256-GCM key that seals `epoch`'s key to one recipient, from the X25519 shared secret. */
export function sealKey (crypto: Crypto, shared: Uint8Array, channelId: Uint8Array, epoch: number, recipientEd: Uint8Array): Uint8Array {
  checkKeyLength(channelId, channelIdBytes, 'channel id')
  checkKeyLength(recipientEd, edKeyBytes, 'recipient Ed25519 key')
  return crypto.hkdfSha256(shared, channelId, concatBytes([sealLabel, u32be(epoch), recipientEd]), 32)
}

/** Associated data of a sealed epoch key: binds it to the channel and the epoch number. */
export function sealAad (channelRef: Uint8Array, epoch: number): Uint8Array {
  checkKeyLength(channelRef, channelRefBytes, 'channel reference')
  return concatBytes([channelRef, u32be(epoch)])
}

/** The seal nonce is constant: each seal key is used once (fresh ephemeral key per epoch, one entry per recipient). */
export function sealNonce (): Uint8Array {
  return zeroNonce.slice()
}

/** Per-author, per-kind content key: two authors never share a (key, nonce) pair even at equal seq. */
export function messageSubkey (crypto: Crypto, channelId: Uint8Array, epochKey: Uint8Array, authorEd: Uint8Array, kind: number): Uint8Array {
  checkKeyLength(epochKey, epochKeyBytes, 'epoch key')
  checkKeyLength(channelId, channelIdBytes, 'channel id')
  checkKeyLength(authorEd, edKeyBytes, 'author Ed25519 key')
  return crypto.hkdfSha256(epochKey, channelId, concatBytes([messageLabel, authorEd, new Uint8Array([kind])]), 32)
}

/** 12-byte big-endian sequence number: unique per (channel, author) because seq is persisted before use. */
export function seqNonce (seq: number): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new DecodeError(`sequence must be a positive safe integer, got ${seq}`)
  const out = new Uint8Array(nonceBytes)
  let v = seq
  for (let i = nonceBytes - 1; i >= 0 && v > 0; i--) { out[i] = v % 256; v = Math.floor(v / 256) }
  return out
}
