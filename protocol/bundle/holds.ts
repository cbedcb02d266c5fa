/**
 * What a relay holds, as short ids (#27): the first 8 bytes of each envelope id, packed into one
 * Uint8Array, strictly ascending. A bundle (format.ts, version 2) lists what its exporter holds in
 * the scope's channels; the importer keeps the newest such list per node in a peer holds file
 * (below), so `ddil bundle export --for NODE` leaves out what NODE holds. A list is a lower bound:
 * missing ids only make the other side send an envelope again, which costs bytes, never a message.
 * Two different ids with the same 8-byte prefix make --for leave out an envelope the peer lacks,
 * with probability about 2^-64 per pair: a quarter of the bytes of whole ids, for a risk that small.
 *
 * Grammar (integers big-endian; docs/PROTOCOL.md "Air-gap bundles"):
 *
 *   holds     = count:u32 (at most bundleHoldsMax) count*shortId   ; strictly ascending, so no duplicates
 *   shortId   = 8 bytes (an envelope id's first 8)
 *   peerHolds = magic version nodeIdLen nodeId createdMs holds checksum
 *   magic     = "DDILHELD"  8 bytes;  version = u8 (1)
 *   nodeIdLen = u8 (1..bundleNodeIdBytesMax), nodeId = UTF-8 text (the node the list came from)
 *   createdMs = u64 (when that node exported the bundle that told it)
 *   checksum  = SHA-256 of every byte before it
 *
 * @example
 * const holds = packShortIds(envelopes.map(e => e.id))   // 8 bytes each, sorted, no duplicates
 * holdsHas(holds, env.id)                                // binary search on its first 8 bytes
 * decodePeerHolds(encodePeerHolds({ nodeId, createdMs, holds }, crypto), crypto)
 */
import { bytesEqual, fromUtf8, utf8 } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { bundleHoldsMax, bundleNodeIdBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { Reader } from './reader.ts'

export const shortIdBytes = 8
export const peerHoldsMagic = utf8('DDILHELD')
export const peerHoldsVersion = 1
const checksumBytes = 32
/** Largest peer holds file: the header at its largest, a full list and the checksum. */
export const peerHoldsBytesMax = peerHoldsMagic.length + 1 + 1 + bundleNodeIdBytesMax + 8 + 4 + bundleHoldsMax * shortIdBytes + checksumBytes

/** What node `nodeId` said, in its bundle exported at `createdMs`, that it holds. */
export interface PeerHolds { nodeId: string, createdMs: number, holds: Uint8Array }

/**
 * The holds list of these ids: first 8 bytes, ascending, duplicates dropped. Past `max` the
 * greatest are dropped (the list is a lower bound: the peer then sends those again).
 */
export function packShortIds (ids: Iterable<Uint8Array>, max = bundleHoldsMax): Uint8Array {
  const prefixes: bigint[] = []
  for (const id of ids) prefixes.push(new DataView(id.buffer, id.byteOffset, shortIdBytes).getBigUint64(0))
  const sorted = BigUint64Array.from(prefixes).sort()
  const out = new Uint8Array(Math.min(sorted.length, max) * shortIdBytes)
  const view = new DataView(out.buffer)
  let n = 0
  for (let i = 0; i < sorted.length && n < max; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue
    view.setBigUint64(n++ * shortIdBytes, sorted[i])
  }
  return out.slice(0, n * shortIdBytes)
}

export function holdsCount (holds: Uint8Array): number { return holds.length / shortIdBytes }

/** Each short id of a holds list, as views into it. */
export function * shortIdsOf (holds: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < holds.length; at += shortIdBytes) yield holds.subarray(at, at + shortIdBytes)
}

/** Whether the list holds the envelope with this id (or another sharing its first 8 bytes). */
export function holdsHas (holds: Uint8Array, id: Uint8Array): boolean {
  const view = new DataView(holds.buffer, holds.byteOffset, holds.byteLength)
  const want = new DataView(id.buffer, id.byteOffset, shortIdBytes).getBigUint64(0)
  let lo = 0
  let hi = holdsCount(holds)
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const v = view.getBigUint64(mid * shortIdBytes)
    if (v === want) return true
    if (v < want) lo = mid + 1
    else hi = mid
  }
  return false
}

/** Throws what `readHolds` would for this list: not whole ids or too many (LimitError), or not strictly ascending (DecodeError). */
export function checkHolds (holds: Uint8Array, file: string): void {
  if (holds.length % shortIdBytes !== 0) throw new DecodeError(`${file} holds list must be whole ${shortIdBytes}-byte short ids`)
  if (holdsCount(holds) > bundleHoldsMax) throw new LimitError(`${file} lists ${holdsCount(holds)} held envelopes; at most ${bundleHoldsMax}`)
  const view = new DataView(holds.buffer, holds.byteOffset, holds.byteLength)
  for (let at = shortIdBytes; at < holds.length; at += shortIdBytes) {
    if (view.getBigUint64(at - shortIdBytes) >= view.getBigUint64(at)) throw new DecodeError(`${file} holds list is not strictly ascending at entry ${at / shortIdBytes + 1}`)
  }
}

/** Bytes the holds section of this list takes: its count and its ids. */
export function holdsSectionBytes (holds: Uint8Array): number { return 4 + holds.length }

/** Writes the holds section at `at` of `out`; returns where it ends. */
export function writeHolds (out: Uint8Array, at: number, holds: Uint8Array): number {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at, holdsCount(holds))
  out.set(holds, at + 4)
  return at + holdsSectionBytes(holds)
}

/** Reads a holds section: LimitError past bundleHoldsMax (before allocating), DecodeError when truncated or not strictly ascending. */
export function readHolds (r: Reader, file: string): Uint8Array {
  const count = r.u32('holds count')
  if (count > bundleHoldsMax) throw new LimitError(`${file} declares ${count} held envelopes; at most ${bundleHoldsMax}`)
  const holds = r.bytes(count * shortIdBytes, 'holds list')
  checkHolds(holds, file)
  return holds
}

/** A node id's bytes, 1 to bundleNodeIdBytesMax of them (LimitError otherwise). */
export function nodeIdBytes (nodeId: string, file: string): Uint8Array {
  const id = utf8(nodeId)
  if (id.length === 0 || id.length > bundleNodeIdBytesMax) throw new LimitError(`${file} node id must be 1 to ${bundleNodeIdBytesMax} bytes, not ${id.length}`)
  return id
}

/** Reads a node id: its length (1 to bundleNodeIdBytesMax, LimitError otherwise), then UTF-8 text (DecodeError if not). */
export function readNodeId (r: Reader, file: string): string {
  const idLength = r.u8('node id length')
  if (idLength === 0 || idLength > bundleNodeIdBytesMax) throw new LimitError(`${file} node id of ${idLength} bytes; must be 1 to ${bundleNodeIdBytesMax}`)
  try { return fromUtf8(r.bytes(idLength, 'node id')) } catch (e) {
    if (e instanceof DecodeError) throw e
    throw new DecodeError(`${file} node id is not UTF-8: ${(e as Error).message}`)
  }
}

/** The peer holds file for `p`. Throws what `decodePeerHolds` would for the same values. */
export function encodePeerHolds (p: PeerHolds, crypto: Pick<Crypto, 'sha256'>): Uint8Array {
  const id = nodeIdBytes(p.nodeId, 'peer holds file')
  if (!Number.isSafeInteger(p.createdMs) || p.createdMs < 0) throw new DecodeError('peer holds file creation time must be a non-negative integer')
  checkHolds(p.holds, 'peer holds file')
  const out = new Uint8Array(peerHoldsMagic.length + 1 + 1 + id.length + 8 + holdsSectionBytes(p.holds) + checksumBytes)
  let at = 0
  out.set(peerHoldsMagic, at); at += peerHoldsMagic.length
  out[at++] = peerHoldsVersion
  out[at++] = id.length
  out.set(id, at); at += id.length
  new DataView(out.buffer).setBigUint64(at, BigInt(p.createdMs)); at += 8
  at = writeHolds(out, at, p.holds)
  out.set(crypto.sha256(out.subarray(0, at)), at)
  return out
}

/** Strict decode of a peer holds file: LimitError (too large), DecodeError (not one, another version, corrupted, truncated, trailing bytes). */
export function decodePeerHolds (bytes: Uint8Array, crypto: Pick<Crypto, 'sha256'>): PeerHolds {
  const file = 'peer holds file'
  if (bytes.length > peerHoldsBytesMax) throw new LimitError(`${file} of ${bytes.length} bytes exceeds ${peerHoldsBytesMax}`)
  const fixed = peerHoldsMagic.length + 1
  if (bytes.length < fixed + checksumBytes || !bytesEqual(bytes.subarray(0, peerHoldsMagic.length), peerHoldsMagic)) throw new DecodeError(`not a ${file} (its first bytes are not "DDILHELD")`)
  if (bytes[peerHoldsMagic.length] !== peerHoldsVersion) throw new DecodeError(`${file} version ${bytes[peerHoldsMagic.length]} is not supported (this relay reads version ${peerHoldsVersion})`)
  const sumAt = bytes.length - checksumBytes
  if (!bytesEqual(crypto.sha256(bytes.subarray(0, sumAt)), bytes.subarray(sumAt))) throw new DecodeError(`${file} checksum does not match: the file is corrupted or truncated`)
  const r = new Reader(bytes, sumAt, file)
  r.at = fixed
  const nodeId = readNodeId(r, file)
  const createdMs = r.u64('creation time')
  const holds = readHolds(r, file)
  if (r.at !== sumAt) throw new DecodeError(`${file} has ${sumAt - r.at} unexpected bytes after its holds list`)
  return { nodeId, createdMs, holds }
}
