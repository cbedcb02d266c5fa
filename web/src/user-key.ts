/**
 * A user's public key in the `ddil1:` form that `ddil whoami` prints and `ddil channel
 * add` takes (node/user-identity.ts): `ddil1:` + base64url(Ed25519 public 32 B ‖ X25519
 * public 32 B ‖ first 4 bytes of SHA-256 of both). Pure, for the browser (the Node module
 * uses Buffer); test/web-units.test.ts checks both agree on random keys and on bad input.
 * Parse problems are sentences for a person holding a phone.
 *
 * @example
 * const text = formatUserKey(crypto, ed, x)          // 'ddil1:…' (97 characters)
 * const key = parseUserKey(crypto, pasted)           // { ed, x, text } or { problem: '…' }
 */
import { bytesEqual } from '../../protocol/bytes.ts'
import type { Crypto } from '../../protocol/ports.ts'
import { fromBase64url, toBase64url } from '../../node/api/base64url.ts'

export const userKeyPrefix = 'ddil1:'
const checksumBytes = 4
/** Characters after the prefix: base64url of 68 bytes, unpadded. */
export const userKeyChars = Math.ceil((64 + checksumBytes) * 4 / 3)

export interface UserKey { ed: Uint8Array, x: Uint8Array, text: string }

function checksum (crypto: Crypto, ed: Uint8Array, x: Uint8Array): Uint8Array {
  const both = new Uint8Array(64)
  both.set(ed); both.set(x, 32)
  return crypto.sha256(both).slice(0, checksumBytes)
}

export function formatUserKey (crypto: Crypto, ed: Uint8Array, x: Uint8Array): string {
  const body = new Uint8Array(64 + checksumBytes)
  body.set(ed); body.set(x, 32); body.set(checksum(crypto, ed, x), 64)
  return userKeyPrefix + toBase64url(body)
}

/** A pasted or scanned key (spaces and line breaks ignored), or what is wrong with it. */
export function parseUserKey (crypto: Crypto, input: string): UserKey | { problem: string } {
  const text = input.replace(/\s+/g, '')
  if (!text.startsWith(userKeyPrefix)) return { problem: `A member key starts with "${userKeyPrefix}": ask the person for the key their app shows under About (or "ddil whoami").` }
  const encoded = text.slice(userKeyPrefix.length)
  if (encoded.length !== userKeyChars) return { problem: `This key has ${encoded.length} characters after "${userKeyPrefix}" instead of ${userKeyChars}: part of it is missing or extra. Copy it again.` }
  let body: Uint8Array
  try { body = fromBase64url(encoded) } catch { return { problem: 'This key contains characters a key never has (only A-Z, a-z, 0-9, "-" and "_"). Copy it again.' } }
  const ed = body.slice(0, 32)
  const x = body.slice(32, 64)
  if (!bytesEqual(checksum(crypto, ed, x), body.subarray(64))) return { problem: 'This key\'s checksum does not match: a character was mistyped or changed. Copy it again.' }
  return { ed, x, text }
}
