/**
 * The air-gap bundle file (#27), version 2: envelopes carried on removable media from one
 * relay to another that never connects to it, signed by the exporting node, with what that
 * node holds in the scope's channels, so the importer can later export `--for` it only what
 * it lacks (two relays across a gap learn what the other holds from its bundles alone).
 * Grammar (all integers big-endian; docs/PROTOCOL.md "Air-gap bundles"):
 *
 *   bundle    = magic version nodeIdLen nodeId publicKey createdMs scope count *envelope holds checksum signature
 *   magic     = "DDILBNDL"                 8 bytes
 *   version   = u8 (2; version 1, still read, has no holds section: it holds nothing known)
 *   nodeIdLen = u8 (1..bundleNodeIdBytesMax), nodeId = UTF-8 text
 *   publicKey = 32 bytes (the exporting node's Ed25519 key)
 *   createdMs = u64 (wall-clock milliseconds at export)
 *   scope     = channelCount:u16 *channel:8 bytes  precedences:u8 (bit p set = precedence p exported; 1..15)  sinceMs:u64 (0 = no bound)
 *   count     = u32 (at most bundleEnvelopesMax)
 *   envelope  = length:u16 (1..envelopeBytesMax) bytes (the envelope's one byte form)
 *   holds     = count:u32 (at most bundleHoldsMax) count*shortId: the first 8 bytes of the id of
 *               every envelope the exporter holds in the scope's channels, whatever its kind,
 *               precedence or stamp, strictly ascending (holds.ts)
 *   checksum  = SHA-256 of every byte before it
 *   signature = Ed25519 by publicKey over "ddil/v1/bundle\n" ‖ every byte before it (checksum included)
 *
 * Nothing may follow the signature. `decodeBundle` is strict and checks in the cheapest order:
 * size bounds (LimitError), checksum (DecodeError: corrupted or truncated), structure and
 * counts (DecodeError, LimitError), then the signature (SignatureError: forged). It does not
 * decode the envelopes: the relay validates each as if it came from a peer.
 * An empty `channels` list means every channel the exporting relay carried.
 *
 * @example
 * const bytes = encodeBundle({ nodeId, publicKey, createdMs, scope: { channels: [ref], precedences: 0b1111, sinceMs: 0 }, envelopes, holds: packShortIds(ids) }, crypto, privateKey)
 * const bundle = decodeBundle(bytes, crypto)   // throws DecodeError | LimitError | SignatureError
 */
import { bytesEqual, concatBytes, utf8 } from '../bytes.ts'
import { channelRefBytes } from '../envelope.ts'
import { DecodeError, LimitError, SignatureError } from '../errors.ts'
import { bundleBytesMax, bundleChannelsMax, bundleEnvelopesMax, envelopeBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { checkHolds, holdsSectionBytes, nodeIdBytes, readHolds, readNodeId, writeHolds } from './holds.ts'
import { Reader } from './reader.ts'

export const bundleMagic = utf8('DDILBNDL')
export const bundleVersion = 2
/** Versions `decodeBundle` reads: 1 (#27's first, no holds section) and this one. */
const versionsRead = new Set([1, bundleVersion])
export const bundleSignatureLabel = utf8('ddil/v1/bundle\n')

const publicKeyBytes = 32
const checksumBytes = 32
const signatureBytes = 64
/** Bit mask with every precedence (flash … routine) set. */
export const allPrecedences = 0b1111

export interface BundleScope {
  /** 8-byte channel references; empty: every channel the exporter carried. */
  channels: Uint8Array[]
  /** Bit p set: envelopes of precedence p are in scope (governance and keys always are). */
  precedences: number
  /** Oldest stamp exported, ms; 0: no bound. */
  sinceMs: number
}

export interface Bundle {
  nodeId: string
  publicKey: Uint8Array
  createdMs: number
  scope: BundleScope
  /** Each envelope's exact bytes, oldest first. */
  envelopes: Uint8Array[]
  /** What the exporter holds in the scope's channels: packed 8-byte short ids, strictly ascending (holds.ts); empty from a version 1 file. */
  holds: Uint8Array
}

/** A decoded bundle with the SHA-256 of its whole file (for the audit log). */
export interface DecodedBundle extends Bundle { fileHash: Uint8Array }

function check (bundle: Bundle): void {
  nodeIdBytes(bundle.nodeId, 'bundle')
  if (bundle.publicKey.length !== publicKeyBytes) throw new DecodeError(`bundle public key must be ${publicKeyBytes} bytes`)
  if (!Number.isSafeInteger(bundle.createdMs) || bundle.createdMs < 0) throw new DecodeError('bundle creation time must be a non-negative integer')
  const { channels, precedences, sinceMs } = bundle.scope
  if (channels.length > bundleChannelsMax) throw new LimitError(`a bundle names at most ${bundleChannelsMax} channels, not ${channels.length}`)
  if (channels.some(c => c.length !== channelRefBytes)) throw new DecodeError(`a bundle's channel references are ${channelRefBytes} bytes`)
  if (!Number.isInteger(precedences) || precedences < 1 || precedences > allPrecedences) throw new DecodeError(`bundle precedence mask must be 1 to ${allPrecedences}, not ${precedences}`)
  if (!Number.isSafeInteger(sinceMs) || sinceMs < 0) throw new DecodeError('bundle "since" must be a non-negative integer')
  if (bundle.envelopes.length > bundleEnvelopesMax) throw new LimitError(`a bundle carries at most ${bundleEnvelopesMax} envelopes, not ${bundle.envelopes.length}: narrow the export with --channel or --since`)
  for (const e of bundle.envelopes) {
    if (e.length === 0 || e.length > envelopeBytesMax) throw new LimitError(`a bundled envelope must be 1 to ${envelopeBytesMax} bytes, not ${e.length}`)
  }
  checkHolds(bundle.holds, 'bundle')
}

/** The signed bundle file. Throws what `decodeBundle` would for the same values. */
export function encodeBundle (bundle: Bundle, crypto: Crypto, privateKey: Uint8Array): Uint8Array {
  check(bundle)
  const id = nodeIdBytes(bundle.nodeId, 'bundle')
  const { channels, precedences, sinceMs } = bundle.scope
  const headerBytes = bundleMagic.length + 1 + 1 + id.length + publicKeyBytes + 8 + 2 + channels.length * channelRefBytes + 1 + 8 + 4
  const bodyBytes = bundle.envelopes.reduce((n, e) => n + 2 + e.length, 0)
  const total = headerBytes + bodyBytes + holdsSectionBytes(bundle.holds) + checksumBytes + signatureBytes
  if (total > bundleBytesMax) throw new LimitError(`a bundle of ${total} bytes exceeds ${bundleBytesMax}`)
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let at = 0
  out.set(bundleMagic, at); at += bundleMagic.length
  out[at++] = bundleVersion
  out[at++] = id.length
  out.set(id, at); at += id.length
  out.set(bundle.publicKey, at); at += publicKeyBytes
  view.setBigUint64(at, BigInt(bundle.createdMs)); at += 8
  view.setUint16(at, channels.length); at += 2
  for (const c of channels) { out.set(c, at); at += channelRefBytes }
  out[at++] = precedences
  view.setBigUint64(at, BigInt(sinceMs)); at += 8
  view.setUint32(at, bundle.envelopes.length); at += 4
  for (const e of bundle.envelopes) { view.setUint16(at, e.length); at += 2; out.set(e, at); at += e.length }
  at = writeHolds(out, at, bundle.holds)
  out.set(crypto.sha256(out.subarray(0, at)), at); at += checksumBytes
  out.set(crypto.ed25519Sign(privateKey, concatBytes([bundleSignatureLabel, out.subarray(0, at)])), at)
  return out
}

/**
 * Strict decode and verification of a bundle file. Throws LimitError (too large, too many
 * channels, envelopes or held ids, an envelope over the limit), DecodeError (not a bundle, another
 * version, truncated, corrupted, holds not strictly ascending, trailing bytes) or SignatureError
 * (not signed by its key). Reads versions 1 and 2.
 */
export function decodeBundle (bytes: Uint8Array, crypto: Crypto): DecodedBundle {
  if (bytes.length > bundleBytesMax) throw new LimitError(`bundle of ${bytes.length} bytes exceeds the limit of ${bundleBytesMax}`)
  const fixed = bundleMagic.length + 1
  if (bytes.length < fixed || !bytesEqual(bytes.subarray(0, bundleMagic.length), bundleMagic)) throw new DecodeError('not a ddil bundle (its first bytes are not "DDILBNDL")')
  const version = bytes[bundleMagic.length]
  if (!versionsRead.has(version)) throw new DecodeError(`bundle version ${version} is not supported (this relay reads versions ${[...versionsRead].join(' and ')})`)
  if (bytes.length < fixed + checksumBytes + signatureBytes) throw new DecodeError('bundle is truncated: shorter than its checksum and signature')
  const signedEnd = bytes.length - signatureBytes
  const sumAt = signedEnd - checksumBytes
  const sum = crypto.sha256(bytes.subarray(0, sumAt))
  if (!bytesEqual(sum, bytes.subarray(sumAt, sumAt + sum.length))) throw new DecodeError('bundle checksum does not match: the file is corrupted or truncated')
  const r = new Reader(bytes, sumAt, 'bundle')
  r.at = fixed
  const nodeId = readNodeId(r, 'bundle')
  const publicKey = r.bytes(publicKeyBytes, 'public key')
  const createdMs = r.u64('creation time')
  const channelCount = r.u16('channel count')
  if (channelCount > bundleChannelsMax) throw new LimitError(`bundle names ${channelCount} channels; at most ${bundleChannelsMax}`)
  const channels: Uint8Array[] = []
  for (let i = 0; i < channelCount; i++) channels.push(r.bytes(channelRefBytes, 'channel list'))
  const precedences = r.u8('precedence mask')
  if (precedences < 1 || precedences > allPrecedences) throw new DecodeError(`bundle precedence mask ${precedences} is not 1 to ${allPrecedences}`)
  const sinceMs = r.u64('since')
  const count = r.u32('envelope count')
  if (count > bundleEnvelopesMax) throw new LimitError(`bundle declares ${count} envelopes; at most ${bundleEnvelopesMax}`)
  const envelopes: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const length = r.u16(`envelope ${i + 1}'s length`)
    if (length === 0 || length > envelopeBytesMax) throw new LimitError(`bundle envelope ${i + 1} is ${length} bytes; must be 1 to ${envelopeBytesMax}`)
    envelopes.push(r.bytes(length, `envelope ${i + 1}`))
  }
  const holds = version === 1 ? new Uint8Array(0) : readHolds(r, 'bundle')
  if (r.at !== sumAt) throw new DecodeError(`bundle has ${sumAt - r.at} unexpected bytes after its ${version === 1 ? 'last envelope' : 'holds list'}`)
  if (!crypto.ed25519Verify(publicKey, concatBytes([bundleSignatureLabel, bytes.subarray(0, signedEnd)]), bytes.subarray(signedEnd))) {
    throw new SignatureError(`bundle signature does not verify for the key of node ${nodeId}: forged or altered`)
  }
  return { nodeId, publicKey, createdMs, scope: { channels, precedences, sinceMs }, envelopes, holds, fileHash: crypto.sha256(bytes) }
}
