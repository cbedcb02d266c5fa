/**
 * The air-gap bundle file (#27), version 1: envelopes carried on removable media from one
 * relay to another that never connects to it, signed by the exporting node. Grammar
 * (all integers big-endian; docs/PROTOCOL.md "Air-gap bundles"):
 *
 *   bundle    = magic version nodeIdLen nodeId publicKey createdMs scope count *envelope checksum signature
 *   magic     = "DDILBNDL"                 8 bytes
 *   version   = u8 (1)
 *   nodeIdLen = u8 (1..bundleNodeIdBytesMax), nodeId = UTF-8 text
 *   publicKey = 32 bytes (the exporting node's Ed25519 key)
 *   createdMs = u64 (wall-clock milliseconds at export)
 *   scope     = channelCount:u16 *channel:8 bytes  precedences:u8 (bit p set = precedence p exported; 1..15)  sinceMs:u64 (0 = no bound)
 *   count     = u32 (at most bundleEnvelopesMax)
 *   envelope  = length:u16 (1..envelopeBytesMax) bytes (the envelope's one byte form)
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
 * const bytes = encodeBundle({ nodeId, publicKey, createdMs, scope: { channels: [ref], precedences: 0b1111, sinceMs: 0 }, envelopes }, crypto, privateKey)
 * const bundle = decodeBundle(bytes, crypto)   // throws DecodeError | LimitError | SignatureError
 */
import { bytesEqual, concatBytes, fromUtf8, utf8 } from '../bytes.ts'
import { channelRefBytes } from '../envelope.ts'
import { DecodeError, LimitError, SignatureError } from '../errors.ts'
import { bundleBytesMax, bundleChannelsMax, bundleEnvelopesMax, bundleNodeIdBytesMax, envelopeBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'

export const bundleMagic = utf8('DDILBNDL')
export const bundleVersion = 1
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
}

/** A decoded bundle with the SHA-256 of its whole file (for the audit log). */
export interface DecodedBundle extends Bundle { fileHash: Uint8Array }

function check (bundle: Bundle): void {
  const id = utf8(bundle.nodeId)
  if (id.length === 0 || id.length > bundleNodeIdBytesMax) throw new LimitError(`bundle node id must be 1 to ${bundleNodeIdBytesMax} bytes, not ${id.length}`)
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
}

/** The signed bundle file. Throws what `decodeBundle` would for the same values. */
export function encodeBundle (bundle: Bundle, crypto: Crypto, privateKey: Uint8Array): Uint8Array {
  check(bundle)
  const id = utf8(bundle.nodeId)
  const { channels, precedences, sinceMs } = bundle.scope
  const headerBytes = bundleMagic.length + 1 + 1 + id.length + publicKeyBytes + 8 + 2 + channels.length * channelRefBytes + 1 + 8 + 4
  const bodyBytes = bundle.envelopes.reduce((n, e) => n + 2 + e.length, 0)
  const total = headerBytes + bodyBytes + checksumBytes + signatureBytes
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
  out.set(crypto.sha256(out.subarray(0, at)), at); at += checksumBytes
  out.set(crypto.ed25519Sign(privateKey, concatBytes([bundleSignatureLabel, out.subarray(0, at)])), at)
  return out
}

/** A cursor over the signed part of a bundle: every read is bounds-checked (a short bundle is a DecodeError). */
class Reader {
  at = 0
  readonly #bytes: Uint8Array
  readonly #view: DataView
  readonly #end: number
  constructor (bytes: Uint8Array, end: number) { this.#bytes = bytes; this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); this.#end = end }
  #need (n: number, what: string): void {
    if (this.at + n > this.#end) throw new DecodeError(`bundle is truncated: ${what} runs past its end`)
  }

  bytes (n: number, what: string): Uint8Array { this.#need(n, what); const b = this.#bytes.slice(this.at, this.at + n); this.at += n; return b }
  u8 (what: string): number { this.#need(1, what); return this.#bytes[this.at++] }
  u16 (what: string): number { this.#need(2, what); const v = this.#view.getUint16(this.at); this.at += 2; return v }
  u32 (what: string): number { this.#need(4, what); const v = this.#view.getUint32(this.at); this.at += 4; return v }
  u64 (what: string): number {
    this.#need(8, what)
    const v = this.#view.getBigUint64(this.at); this.at += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`bundle ${what} is out of range`)
    return Number(v)
  }
}

/**
 * Strict decode and verification of a bundle file. Throws LimitError (too large, too many
 * channels or envelopes, an envelope over the limit), DecodeError (not a bundle, another
 * version, truncated, corrupted, trailing bytes) or SignatureError (not signed by its key).
 */
export function decodeBundle (bytes: Uint8Array, crypto: Crypto): DecodedBundle {
  if (bytes.length > bundleBytesMax) throw new LimitError(`bundle of ${bytes.length} bytes exceeds the limit of ${bundleBytesMax}`)
  const fixed = bundleMagic.length + 1
  if (bytes.length < fixed || !bytesEqual(bytes.subarray(0, bundleMagic.length), bundleMagic)) throw new DecodeError('not a ddil bundle (its first bytes are not "DDILBNDL")')
  if (bytes[bundleMagic.length] !== bundleVersion) throw new DecodeError(`bundle version ${bytes[bundleMagic.length]} is not supported (this relay reads version ${bundleVersion})`)
  if (bytes.length < fixed + checksumBytes + signatureBytes) throw new DecodeError('bundle is truncated: shorter than its checksum and signature')
  const signedEnd = bytes.length - signatureBytes
  const sumAt = signedEnd - checksumBytes
  const sum = crypto.sha256(bytes.subarray(0, sumAt))
  if (!bytesEqual(sum, bytes.subarray(sumAt, sumAt + sum.length))) throw new DecodeError('bundle checksum does not match: the file is corrupted or truncated')
  const r = new Reader(bytes, sumAt)
  r.at = fixed
  const idLength = r.u8('node id length')
  if (idLength === 0 || idLength > bundleNodeIdBytesMax) throw new LimitError(`bundle node id of ${idLength} bytes; must be 1 to ${bundleNodeIdBytesMax}`)
  let nodeId: string
  try { nodeId = fromUtf8(r.bytes(idLength, 'node id')) } catch (e) { throw new DecodeError(`bundle node id is not UTF-8: ${(e as Error).message}`) }
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
  if (r.at !== sumAt) throw new DecodeError(`bundle has ${sumAt - r.at} unexpected bytes after its last envelope`)
  if (!crypto.ed25519Verify(publicKey, concatBytes([bundleSignatureLabel, bytes.subarray(0, signedEnd)]), bytes.subarray(signedEnd))) {
    throw new SignatureError(`bundle signature does not verify for the key of node ${nodeId}: forged or altered`)
  }
  return { nodeId, publicKey, createdMs, scope: { channels, precedences, sinceMs }, envelopes, fileHash: crypto.sha256(bytes) }
}
