/**
 * The acceptance suite every `Crypto` port passes (STYLE 8): published vectors (RFC 8032,
 * RFC 7748, RFC 5869, the GCM spec, FIPS 180-2) and the negative cases the protocol relies
 * on (bad lengths, tampered AEAD, low-order X25519 points, bit-flipped signatures).
 * Run against node:crypto (test/crypto.test.ts) and the browser's @noble port (test/web-crypto.test.ts).
 *
 * @example
 * cryptoPortSuite(t, 'node:crypto', createNodeCrypto())
 */
import type { Test } from 'tap'
import { fromHex, toHex, utf8 } from '../../protocol/bytes.ts'
import type { Crypto } from '../../protocol/ports.ts'

export function cryptoPortSuite (t: Test, name: string, c: Crypto): void {
  t.test(`${name}: SHA-256 (FIPS 180-2 "abc")`, async t => {
    t.equal(toHex(c.sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  t.test(`${name}: Ed25519 (RFC 8032 test 1)`, async t => {
    const keys = c.ed25519KeyPair(fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))
    t.equal(toHex(keys.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
    const sig = c.ed25519Sign(keys.privateKey, new Uint8Array(0))
    t.equal(toHex(sig), 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
    t.ok(c.ed25519Verify(keys.publicKey, new Uint8Array(0), sig))
    const flipped = sig.slice(); flipped[10] ^= 1
    t.notOk(c.ed25519Verify(keys.publicKey, new Uint8Array(0), flipped), 'bit-flipped signature fails')
    t.notOk(c.ed25519Verify(keys.publicKey, new Uint8Array([0]), sig), 'other message fails')
    t.notOk(c.ed25519Verify(keys.publicKey.subarray(0, 31), new Uint8Array(0), sig), 'short key fails, no throw')
    t.notOk(c.ed25519Verify(keys.publicKey, new Uint8Array(0), sig.subarray(0, 63)), 'short signature fails, no throw')
    // S + L is the same signature in another spelling: OpenSSL refuses it, so every port must (one byte form per envelope).
    t.notOk(c.ed25519Verify(keys.publicKey, new Uint8Array(0), withScalarPlusOrder(sig)), 'non-canonical S (S + L) fails')
    t.notOk(c.ed25519Verify(new Uint8Array(32).fill(0xff), new Uint8Array(0), sig), 'a key that is no curve point fails, no throw')
  })

  t.test(`${name}: X25519 (RFC 7748 §6.1)`, async t => {
    const alice = c.x25519KeyPair(fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))
    const bob = c.x25519KeyPair(fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))
    t.equal(toHex(alice.publicKey), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    t.equal(toHex(bob.publicKey), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    t.equal(toHex(c.x25519(alice.privateKey, bob.publicKey)), shared)
    t.equal(toHex(c.x25519(bob.privateKey, alice.publicKey)), shared)
    // The all-zero point is low order: the agreement must be refused, not return zeros.
    t.throws(() => c.x25519(alice.privateKey, new Uint8Array(32)), { code: 'ERR_CRYPTO' })
  })

  t.test(`${name}: HKDF-SHA256 (RFC 5869 case 1)`, async t => {
    const okm = c.hkdfSha256(new Uint8Array(22).fill(0x0b), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42)
    t.equal(toHex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
  })

  t.test(`${name}: AES-256-GCM (GCM spec test cases 13 and 14) and tamper detection`, async t => {
    const key = new Uint8Array(32)
    const nonce = new Uint8Array(12)
    t.equal(toHex(c.aesGcmSeal(key, nonce, new Uint8Array(0), new Uint8Array(0))), '530f8afbc74536b9a963b4f1c4cb738b')
    const sealed = c.aesGcmSeal(key, nonce, new Uint8Array(16), new Uint8Array(0))
    t.equal(toHex(sealed), 'cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919')
    t.same(c.aesGcmOpen(key, nonce, sealed, new Uint8Array(0)), new Uint8Array(16))
    const tampered = sealed.slice(); tampered[0] ^= 0x80
    t.throws(() => c.aesGcmOpen(key, nonce, tampered, new Uint8Array(0)), { code: 'ERR_CRYPTO' })
    t.throws(() => c.aesGcmOpen(key, nonce, sealed, new Uint8Array([1])), { code: 'ERR_CRYPTO' }, 'other AAD fails')
    t.throws(() => c.aesGcmSeal(new Uint8Array(16), nonce, new Uint8Array(1), new Uint8Array(0)), { code: 'ERR_CRYPTO' }, 'short key refused')
    t.throws(() => c.aesGcmOpen(key, nonce, new Uint8Array(15), new Uint8Array(0)), { code: 'ERR_CRYPTO' }, 'shorter than tag')
  })
}

/** The group order L of Ed25519, little-endian. */
const ed25519Order = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

/** The signature with L added to its scalar S (little-endian, second half). */
function withScalarPlusOrder (sig: Uint8Array): Uint8Array {
  const out = sig.slice()
  let carry = 0
  for (let i = 0; i < 32; i++) {
    const sum = out[32 + i] + ed25519Order[i] + carry
    out[32 + i] = sum & 0xff
    carry = sum >> 8
  }
  return out
}
