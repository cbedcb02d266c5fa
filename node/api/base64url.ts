/**
 * Strict base64url without padding (RFC 4648 §5), the byte encoding of the client API's
 * JSON. Pure (no Buffer) so that a browser page can share it. Decoding accepts exactly one
 * spelling per byte string: the alphabet only, no padding, no whitespace, a length that is
 * not 1 mod 4, and zero unused trailing bits. Anything else is a DecodeError.
 *
 * @example
 * toBase64url(Uint8Array.of(0xfb, 0xff))   // '-_8'
 * fromBase64url('-_8')                     // Uint8Array [0xfb, 0xff]
 */
import { DecodeError } from '../../protocol/errors.ts'

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const values = new Int8Array(128).fill(-1)
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i

export function toBase64url (bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63]
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i] << 16
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63]
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8)
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63]
  }
  return out
}

/** Length in characters of `byteLength` bytes encoded. */
export function base64urlLength (byteLength: number): number {
  return Math.ceil(byteLength * 4 / 3)
}

function sextet (text: string, i: number): number {
  const c = text.charCodeAt(i)
  const v = c < 128 ? values[c] : -1
  if (v < 0) throw new DecodeError(`invalid base64url character at ${i}`)
  return v
}

export function fromBase64url (text: string): Uint8Array {
  if (text.length % 4 === 1) throw new DecodeError('base64url length is impossible')
  const out = new Uint8Array(Math.floor(text.length * 3 / 4))
  let o = 0
  let i = 0
  for (; i + 3 < text.length; i += 4) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3)
    out[o++] = n >> 16
    out[o++] = (n >> 8) & 255
    out[o++] = n & 255
  }
  const rest = text.length - i
  if (rest === 2) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12)
    if ((n & 0xffff) !== 0) throw new DecodeError('base64url has non-zero trailing bits')
    out[o++] = n >> 16
  } else if (rest === 3) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6)
    if ((n & 0xff) !== 0) throw new DecodeError('base64url has non-zero trailing bits')
    out[o++] = n >> 16
    out[o++] = (n >> 8) & 255
  }
  return out
}
