/**
 * The `Crypto` port in the browser, over the audited pure-JS @noble libraries:
 * Ed25519 and X25519 (@noble/curves), HKDF-SHA256 and SHA-256 (@noble/hashes),
 * AES-256-GCM (@noble/ciphers). Synchronous, as protocol/ports.ts requires (the channel
 * client cannot await inside its state machine); WebCrypto's async API cannot serve it.
 * It gives byte-identical results to node/crypto.ts on every protocol vector
 * (test/web-crypto.test.ts), and refuses what OpenSSL refuses: non-canonical Ed25519
 * signatures and keys (RFC 8032 strict, not ZIP-215), low-order X25519 points, a
 * failed AES-GCM tag (CryptoError).
 *
 * @example
 * const crypto = createBrowserCrypto()
 * const me = crypto.ed25519KeyPair(randomBytes(32))
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { gcm } from '@noble/ciphers/aes.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { CryptoError } from '../../protocol/errors.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'

function checkLength (bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new CryptoError(`${what} must be ${length} bytes, got ${bytes.length}`)
}

function keyPair (seed: Uint8Array, what: string, publicOf: (privateKey: Uint8Array) => Uint8Array): KeyPair {
  checkLength(seed, 32, what)
  const privateKey = seed.slice()
  return { privateKey, publicKey: publicOf(privateKey) }
}

export function createBrowserCrypto (): Crypto {
  return {
    ed25519KeyPair: seed => keyPair(seed, 'Ed25519 private key', k => ed25519.getPublicKey(k)),
    ed25519Sign (privateKey, message) {
      checkLength(privateKey, 32, 'Ed25519 private key')
      return ed25519.sign(message, privateKey)
    },
    ed25519Verify (publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false
      try {
        return ed25519.verify(signature, message, publicKey, { zip215: false })
      } catch {
        return false // a public key that is not a valid curve point cannot verify anything
      }
    },
    x25519KeyPair: seed => keyPair(seed, 'X25519 private key', k => x25519.getPublicKey(k)),
    x25519 (privateKey, publicKey) {
      checkLength(privateKey, 32, 'X25519 private key')
      let shared: Uint8Array
      try {
        shared = x25519.getSharedSecret(privateKey, publicKey)
      } catch (cause) {
        throw new CryptoError('X25519 agreement failed (invalid or low-order public key)', { cause })
      }
      if (shared.every(b => b === 0)) throw new CryptoError('X25519 agreement produced the all-zero secret (low-order public key)')
      return shared
    },
    hkdfSha256 (ikm, salt, info, length) {
      return hkdf(sha256, ikm, salt, info, length)
    },
    aesGcmSeal (key, nonce, plaintext, aad) {
      checkLength(key, 32, 'AES-256-GCM key')
      checkLength(nonce, 12, 'AES-GCM nonce')
      return gcm(key, nonce, aad).encrypt(plaintext)
    },
    aesGcmOpen (key, nonce, sealed, aad) {
      checkLength(key, 32, 'AES-256-GCM key')
      checkLength(nonce, 12, 'AES-GCM nonce')
      if (sealed.length < 16) throw new CryptoError('sealed data shorter than its tag')
      try {
        return gcm(key, nonce, aad).decrypt(sealed)
      } catch (cause) {
        throw new CryptoError('AES-GCM authentication failed', { cause })
      }
    },
    sha256 (data) {
      return sha256(data)
    },
  }
}
