/**
 * The `Crypto` port for a simulated fleet: node:crypto, with Ed25519 verification
 * memoised across nodes. Verification is a pure function of (public key, message,
 * signature), so two hundred simulated relays checking the same envelope may share
 * one answer; the cache compares all three byte strings in full before reusing it,
 * so a forged or altered envelope is still verified on its own bytes.
 *
 * SHA-256 (an envelope's id) is memoised the same way for inputs of at least
 * `digestMemoBytesMin`, answered only if the whole input is equal, and returned as a
 * fresh copy. The memos are filed under a small integer made from the input's length
 * and last four bytes (an envelope ends with its signature, 64 random bytes): no string
 * to build and hash per stored copy; inputs that share the number just replace each
 * other.
 *
 * @example
 * const crypto = memoisedCrypto(createNodeCrypto())
 * crypto.ed25519Verify(pk, msg, sig)   // real check
 * crypto.ed25519Verify(pk, msg, sig)   // same bytes: cached answer
 * crypto.verifyStats                   // { calls: 2, computed: 1 }
 * crypto.sha256(envelopeBytes)         // hashed once per fleet, then compared
 */
import { decodeEnvelope, type Envelope } from '../protocol/envelope.ts'
import { sameBytes } from './disk-values.ts'
import type { Crypto } from '../protocol/ports.ts'

interface Verdict { publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, ok: boolean }

export interface MemoisedCrypto extends Crypto {
  readonly verifyStats: { calls: number, computed: number }
  readonly digestStats: { calls: number, computed: number }
}

/** Shorter inputs are hashed directly (comparing them would save little). */
const digestMemoBytesMin = 64
/** Digests remembered before the memo starts over (about 30 MB of 600 B envelopes). */
const digestMemoEntriesMax = 50_000

/** The number a memo files `bytes` under (at least 4 of them): 30 bits, a small integer V8 keeps unboxed. */
function memoKey (bytes: Uint8Array): number {
  const n = bytes.length
  const last = bytes[n - 1] | (bytes[n - 2] << 8) | (bytes[n - 3] << 16) | (bytes[n - 4] << 24)
  return (last ^ Math.imul(n, 0x9e3779b1)) & 0x3fffffff
}


/** Memoised SHA-256 over `inner`, for inputs of at least digestMemoBytesMin bytes. */
function memoisedSha256 (inner: Crypto, stats: { calls: number, computed: number }): (data: Uint8Array) => Uint8Array {
  const digests = new Map<number, { input: Uint8Array, digest: Uint8Array }>()
  return (data) => {
    if (data.length < digestMemoBytesMin) return inner.sha256(data)
    stats.calls++
    const key = memoKey(data)
    const seen = digests.get(key)
    if (seen !== undefined && sameBytes(seen.input, data)) return seen.digest.slice()
    stats.computed++
    const digest = inner.sha256(data)
    if (digests.size >= digestMemoEntriesMax) digests.clear()
    digests.set(key, { input: data.slice(), digest: digest.slice() })
    return digest
  }
}

export function memoisedCrypto (inner: Crypto): MemoisedCrypto {
  const verdicts = new Map<number, Verdict>()
  const verifyStats = { calls: 0, computed: 0 }
  const digestStats = { calls: 0, computed: 0 }
  return {
    ...inner,
    verifyStats,
    digestStats,
    sha256: memoisedSha256(inner, digestStats),
    ed25519Verify (publicKey, message, signature) {
      verifyStats.calls++
      const key = signature.length >= 4 ? memoKey(signature) : -1
      const seen = verdicts.get(key)
      if (seen !== undefined && sameBytes(seen.signature, signature) && sameBytes(seen.publicKey, publicKey) && sameBytes(seen.message, message)) return seen.ok
      verifyStats.computed++
      const ok = inner.ed25519Verify(publicKey, message, signature)
      verdicts.set(key, { publicKey: publicKey.slice(), message: message.slice(), signature: signature.slice(), ok })
      return ok
    },
  }
}

/** Decoded envelopes remembered before the memo starts over. */
const decodedEnvelopesMax = 50_000

/**
 * The engines' `decode` port for a fleet: one decoded Envelope per distinct byte string,
 * shared by every node that receives it (engines never mutate envelopes). Keyed like the
 * digest memo and reused only when the bytes are equal in full; anything else, including
 * an altered copy, is decoded (and checked) on its own bytes.
 */
export function sharedDecoder (crypto: Crypto): { decode: (bytes: Uint8Array) => Envelope, stats: { calls: number, computed: number } } {
  const decoded = new Map<number, Envelope>()
  const stats = { calls: 0, computed: 0 }
  const decode = (bytes: Uint8Array): Envelope => {
    stats.calls++
    const key = bytes.length >= 16 ? memoKey(bytes) : undefined
    const seen = key === undefined ? undefined : decoded.get(key)
    if (seen !== undefined && sameBytes(seen.bytes, bytes)) return seen
    stats.computed++
    const env = decodeEnvelope(bytes, (b) => crypto.sha256(b))
    if (key !== undefined) {
      if (decoded.size >= decodedEnvelopesMax) decoded.clear()
      decoded.set(key, env)
    }
    return env
  }
  return { decode, stats }
}
