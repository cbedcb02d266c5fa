/** Fixed keys and fields shared by the protocol tests and the vector generator: change nothing here without re-pinning vectors. */
import { createNodeCrypto } from '../../node/crypto.ts'
import { authorRef, Kind, Precedence, type EnvelopeFields } from '../../protocol/envelope.ts'
import { fromHex, utf8 } from '../../protocol/bytes.ts'

export const crypto = createNodeCrypto()
export const aliceKeys = crypto.ed25519KeyPair(new Uint8Array(32).fill(1))
export const bobKeys = crypto.ed25519KeyPair(new Uint8Array(32).fill(2))
export const channel = fromHex('0c0c0c0c0c0c0c0c')
/** 2026-11-22T12:00:00Z */
export const nowMs = 1795348800000

export function messageFields (overrides: Partial<EnvelopeFields> = {}): EnvelopeFields {
  return {
    kind: Kind.message,
    precedence: Precedence.routine,
    channel,
    author: authorRef(aliceKeys.publicKey),
    seq: 1,
    hlc: { ms: nowMs, c: 0 },
    ttlSeconds: 3600,
    epoch: 1,
    deps: [],
    // 32 characters of text plus a 16-byte tag stand-in: the body is opaque to this layer.
    body: utf8('Pump 3 offline; crews en route!!' + '0123456789abcdef'),
    ...overrides,
  }
}
