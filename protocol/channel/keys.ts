/**
 * The body of a `keys` envelope (kind 3): one chunk of an epoch key sealed to members.
 * Canonical CBOR, integer keys, all fields required:
 *
 *   keys-body = { 0: epoch (1..2^32-1), 1: ephemeral X25519 public key (32 B),
 *                 2: [ [recipient Ed25519 prefix (8 B), sealed (48 B)], … ],
 *                 3: chunk index, 4: chunk count (1..keysChunksMax) }
 *
 * Entries are sorted by their bytes (prefix, then sealed) and unique, so a chunk has one
 * byte form whatever order the members were listed in. All chunks of one epoch share
 * the ephemeral key; that is how a reader groups chunks it cannot open itself.
 *
 * @example
 * const body = decodeKeysBody(env.body)    // strict: DecodeError / LimitError
 * body.entries.map(e => toHex(e.recipient))
 */
import { compareBytes, concatBytes } from '../bytes.ts'
import { asArray, asBytes, asMap, asUint, decodeStrict, encodeCanonical, field, onlyKeys, type CborMap, type CborValue } from '../cbor.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { envelopeBodyBytesMax, keysChunksMax } from '../limits.ts'
import { edPrefixBytes, epochKeyBytes, epochMax, tagBytes, xKeyBytes } from './derive.ts'

export const sealedBytes = epochKeyBytes + tagBytes

export interface SealedEntry {
  /** First 8 bytes of the recipient's Ed25519 public key. */
  recipient: Uint8Array
  /** AES-256-GCM(epoch key) with its tag: 48 bytes. */
  sealed: Uint8Array
}

export interface KeysBody {
  epoch: number
  ephemeralPublic: Uint8Array
  entries: SealedEntry[]
  chunkIndex: number
  chunkCount: number
}

/** Encoded size of one entry: array head, two byte-string heads and their bytes. */
export const keysEntryBytes = 1 + (1 + edPrefixBytes) + (2 + sealedBytes)

/**
 * Bytes of a keys body besides its entries, at worst: map head, five keys, a 5-byte epoch,
 * the 34-byte ephemeral key, a 3-byte array head and 2-byte chunk numbers.
 */
export const keysBodyOverheadBytes = 1 + 5 + 5 + (2 + xKeyBytes) + 3 + 2 + 2

/** Most entries per chunk so that the body stays within `bodyBytesMax` (19 at 1200 B). */
export function keysChunkEntriesMax (bodyBytesMax: number = envelopeBodyBytesMax): number {
  const bound = Math.min(bodyBytesMax, envelopeBodyBytesMax)
  return Math.max(0, Math.floor((bound - keysBodyOverheadBytes) / keysEntryBytes))
}

function entryOrder (a: SealedEntry, b: SealedEntry): number {
  return compareBytes(concatBytes([a.recipient, a.sealed]), concatBytes([b.recipient, b.sealed]))
}

function check (body: KeysBody): void {
  if (!Number.isInteger(body.epoch) || body.epoch < 1 || body.epoch > epochMax) throw new DecodeError(`keys body: epoch must be 1..${epochMax}, got ${body.epoch}`)
  if (body.ephemeralPublic.length !== xKeyBytes) throw new DecodeError('keys body: ephemeral key must be 32 bytes')
  if (!Number.isInteger(body.chunkCount) || body.chunkCount < 1) throw new DecodeError('keys body: chunk count must be at least 1')
  if (body.chunkCount > keysChunksMax) throw new LimitError(`keys body: ${body.chunkCount} chunks exceed ${keysChunksMax}`)
  if (!Number.isInteger(body.chunkIndex) || body.chunkIndex < 0 || body.chunkIndex >= body.chunkCount) {
    throw new DecodeError(`keys body: chunk index ${body.chunkIndex} not below count ${body.chunkCount}`)
  }
  if (body.entries.length === 0) throw new DecodeError('keys body: no recipients')
  for (let i = 0; i < body.entries.length; i++) {
    const e = body.entries[i]
    if (e.recipient.length !== edPrefixBytes || e.sealed.length !== sealedBytes) throw new DecodeError('keys body: entry must be [8 B prefix, 48 B sealed]')
    if (i > 0 && entryOrder(body.entries[i - 1], e) >= 0) throw new DecodeError('keys body: entries must be sorted and unique')
  }
}

/** Canonical bytes of one chunk. Entries must already be sorted (sealEpoch sorts them). */
export function encodeKeysBody (body: KeysBody): Uint8Array {
  check(body)
  const entries: CborValue[] = body.entries.map(e => [e.recipient, e.sealed])
  const map: CborMap = new Map<number, CborValue>([
    [0, body.epoch], [1, body.ephemeralPublic], [2, entries], [3, body.chunkIndex], [4, body.chunkCount],
  ])
  const bytes = encodeCanonical(map)
  if (bytes.length > envelopeBodyBytesMax) throw new LimitError(`keys body of ${bytes.length} bytes exceeds ${envelopeBodyBytesMax}`)
  return bytes
}

/** Strict decode of one chunk; the returned byte fields are copies. */
export function decodeKeysBody (bytes: Uint8Array): KeysBody {
  if (bytes.length > envelopeBodyBytesMax) throw new LimitError(`keys body of ${bytes.length} bytes exceeds ${envelopeBodyBytesMax}`)
  const limits = { depthMax: 3, mapEntriesMax: 8, arrayItemsMax: keysChunkEntriesMax(), bytesMax: sealedBytes, textBytesMax: 0 }
  const m = onlyKeys(asMap(decodeStrict(bytes, limits), 'keys body'), [0, 1, 2, 3, 4], 'keys body')
  const entries = asArray(field(m, 2, 'keys body'), 'keys body field 2', { min: 1 }).map((v, i) => {
    const [recipient, sealed] = asArray(v, `keys entry ${i}`, 2)
    return { recipient: asBytes(recipient, `keys entry ${i} field 0`, edPrefixBytes).slice(), sealed: asBytes(sealed, `keys entry ${i} field 1`, sealedBytes).slice() }
  })
  const body: KeysBody = {
    epoch: asUint(field(m, 0, 'keys body'), 'keys body field 0', epochMax, 1),
    ephemeralPublic: asBytes(field(m, 1, 'keys body'), 'keys body field 1', xKeyBytes).slice(),
    entries,
    chunkIndex: asUint(field(m, 3, 'keys body'), 'keys body field 3', keysChunksMax - 1),
    chunkCount: asUint(field(m, 4, 'keys body'), 'keys body field 4', keysChunksMax, 1),
  }
  check(body)
  return body
}

/** Sort entries into their canonical order (a copy). */
export function sortEntries (entries: SealedEntry[]): SealedEntry[] {
  return [...entries].sort(entryOrder)
}
