/**
 * The `Crypto` port for a simulated fleet: node:crypto, with Ed25519 verification
 * memoised across nodes. Verification is a pure function of (public key, message,
 * signature), so two hundred simulated relays checking the same envelope may share
 * one answer; the cache compares all three byte strings in full before reusing it,
 * so a forged or altered envelope is still verified on its own bytes.
 *
 * @example
 * const crypto = memoisedCrypto(createNodeCrypto())
 * crypto.ed25519Verify(pk, msg, sig)   // real check
 * crypto.ed25519Verify(pk, msg, sig)   // same bytes: cached answer
 * crypto.verifyStats                   // { calls: 2, computed: 1 }
 */
import { Buffer } from 'node:buffer'
import { bytesEqual } from '../protocol/bytes.ts'
import type { Crypto } from '../protocol/ports.ts'

interface Verdict { publicKey: Uint8Array, message: Uint8Array, ok: boolean }

export interface MemoisedCrypto extends Crypto {
  readonly verifyStats: { calls: number, computed: number }
}

function sigKey (signature: Uint8Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.length).toString('latin1')
}

export function memoisedCrypto (inner: Crypto): MemoisedCrypto {
  const verdicts = new Map<string, Verdict>()
  const verifyStats = { calls: 0, computed: 0 }
  return {
    ...inner,
    verifyStats,
    ed25519Verify (publicKey, message, signature) {
      verifyStats.calls++
      const key = sigKey(signature)
      const seen = verdicts.get(key)
      if (seen !== undefined && bytesEqual(seen.publicKey, publicKey) && bytesEqual(seen.message, message)) return seen.ok
      verifyStats.computed++
      const ok = inner.ed25519Verify(publicKey, message, signature)
      verdicts.set(key, { publicKey: publicKey.slice(), message: message.slice(), ok })
      return ok
    },
  }
}
