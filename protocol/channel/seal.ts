/**
 * Sealing an epoch key to the channel's members, and opening it as one of them.
 * One fresh ephemeral X25519 key per epoch; each recipient gets the epoch key under
 * AES-256-GCM with a key derived from X25519(ephemeral, recipient) (see derive.ts),
 * so only the listed members can open it: a removed member is simply never listed.
 * The sealed entries are split into chunks that each fit one keys envelope body.
 *
 * Pure: the epoch key and the ephemeral seed are passed in (the caller draws them from
 * its Random port), so the output is a function of the inputs and can be pinned.
 *
 * @example
 * const chunks = sealEpoch(crypto, { channelId, channelRef, epoch: 2, epochKey, ephemeralSeed, recipients })
 * // sign each chunk as the body of a keys envelope (kind 3); then, at a member:
 * const opened = openEpoch(crypto, { channelId, channelRef, body: env.body, me: { ed, xPrivate } })
 */
import { bytesEqual, toHex } from '../bytes.ts'
import { CryptoError, LimitError, ProtocolError } from '../errors.ts'
import { envelopeBodyBytesMax, epochRecipientsMax, keysChunksMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { checkKeyLength, edKeyBytes, edPrefixBytes, epochKeyBytes, sealAad, sealKey, sealNonce, u32be, xKeyBytes } from './derive.ts'
import { decodeKeysBody, encodeKeysBody, keysChunkEntriesMax, sortEntries, type SealedEntry } from './keys.ts'

/** What sealing needs to know about a member (from the governance state). */
export interface MemberKeys {
  /** Ed25519 public key, 32 bytes. */
  ed: Uint8Array
  /** X25519 public key, 32 bytes. */
  x: Uint8Array
}

export interface SealEpochInput {
  channelId: Uint8Array
  channelRef: Uint8Array
  epoch: number
  epochKey: Uint8Array
  /** 32 random bytes: the ephemeral X25519 private key for this epoch. Never reuse. */
  ephemeralSeed: Uint8Array
  recipients: MemberKeys[]
  /** Tighter body bound, so a keys envelope with dependencies still fits the envelope limit. */
  bodyBytesMax?: number
}

export interface OpenEpochInput {
  channelId: Uint8Array
  channelRef: Uint8Array
  body: Uint8Array
  me: { ed: Uint8Array, xPrivate: Uint8Array }
}

export interface OpenedEpoch {
  epoch: number
  epochKey: Uint8Array
}

/** Seal `epochKey` to every recipient; returns the keys-envelope bodies, each within the body limit. */
export function sealEpoch (crypto: Crypto, input: SealEpochInput): Uint8Array[] {
  checkKeyLength(input.epochKey, epochKeyBytes, 'epoch key')
  checkKeyLength(input.ephemeralSeed, 32, 'ephemeral seed')
  u32be(input.epoch) // range check before any work
  const recipients = checkRecipients(input.recipients)
  const eph = crypto.x25519KeyPair(input.ephemeralSeed)
  const aad = sealAad(input.channelRef, input.epoch)
  const entries: SealedEntry[] = recipients.map(r => {
    const key = sealKey(crypto, crypto.x25519(eph.privateKey, r.x), input.channelId, input.epoch, r.ed)
    return { recipient: r.ed.slice(0, edPrefixBytes), sealed: crypto.aesGcmSeal(key, sealNonce(), input.epochKey, aad) }
  })
  const perChunk = keysChunkEntriesMax(input.bodyBytesMax ?? envelopeBodyBytesMax)
  if (perChunk < 1) throw new LimitError(`a body of ${input.bodyBytesMax} bytes cannot hold one recipient`)
  const sorted = sortEntries(entries)
  const chunkCount = Math.ceil(sorted.length / perChunk)
  if (chunkCount > keysChunksMax) throw new LimitError(`${chunkCount} keys chunks exceed ${keysChunksMax}`)
  const chunks: Uint8Array[] = []
  for (let i = 0; i < chunkCount; i++) {
    chunks.push(encodeKeysBody({
      epoch: input.epoch,
      ephemeralPublic: eph.publicKey,
      entries: sorted.slice(i * perChunk, (i + 1) * perChunk),
      chunkIndex: i,
      chunkCount,
    }))
  }
  return chunks
}

function checkRecipients (recipients: MemberKeys[]): MemberKeys[] {
  if (recipients.length === 0) throw new ProtocolError('an epoch needs at least one recipient')
  if (recipients.length > epochRecipientsMax) throw new LimitError(`${recipients.length} recipients exceed ${epochRecipientsMax}`)
  const seen = new Set<string>()
  for (const r of recipients) {
    checkKeyLength(r.ed, edKeyBytes, 'recipient Ed25519 key')
    checkKeyLength(r.x, xKeyBytes, 'recipient X25519 key')
    const k = toHex(r.ed)
    // Governance names each member once; a repeat is a caller bug that would seal twice.
    if (seen.has(k)) throw new ProtocolError(`recipient ${k.slice(0, 16)} listed twice`)
    seen.add(k)
  }
  return recipients
}

/**
 * Open one keys chunk as `me`. Undefined when the chunk has no entry for my key prefix
 * (not a recipient of this chunk); CryptoError when an entry for my prefix does not open
 * (tampered, or sealed to another key with my prefix); DecodeError/LimitError for a bad body.
 */
export function openEpoch (crypto: Crypto, input: OpenEpochInput): OpenedEpoch | undefined {
  checkKeyLength(input.me.ed, edKeyBytes, 'my Ed25519 key')
  checkKeyLength(input.me.xPrivate, xKeyBytes, 'my X25519 private key')
  const body = decodeKeysBody(input.body)
  const prefix = input.me.ed.subarray(0, edPrefixBytes)
  const mine = body.entries.filter(e => bytesEqual(e.recipient, prefix))
  if (mine.length === 0) return undefined
  const aad = sealAad(input.channelRef, body.epoch)
  const key = sealKey(crypto, crypto.x25519(input.me.xPrivate, body.ephemeralPublic), input.channelId, body.epoch, input.me.ed)
  let failure: unknown
  for (const e of mine) {
    try {
      const epochKey = crypto.aesGcmOpen(key, sealNonce(), e.sealed, aad)
      if (epochKey.length !== epochKeyBytes) throw new CryptoError('opened epoch key has the wrong length')
      return { epoch: body.epoch, epochKey }
    } catch (cause) {
      failure = cause
    }
  }
  throw new CryptoError(`sealed epoch ${body.epoch} key for ${toHex(prefix)} does not open`, { cause: failure })
}
