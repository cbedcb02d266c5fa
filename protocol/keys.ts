/**
 * Order-preserving tuple keys for the ordered `Store` (in the spirit of FoundationDB's
 * tuple layer). A key is a tuple of parts; the bytewise order of encoded keys equals the
 * tuple order, so a prefix of a tuple selects a contiguous key range.
 *
 * Grammar (one tag byte per part, parts concatenated, nothing else):
 *   bytes   0x01 escaped(b) 0x00
 *   string  0x02 escaped(utf8(s)) 0x00       (well-formed Unicode only)
 *   integer 0x20+n  n big-endian bytes        (n = 0…7, minimal: no leading 0x00; 0 is 0x20)
 *   escaped(x): every 0x00 in x becomes 0x00 0xFF
 *
 * Order: bytes < strings < integers when types differ (by tag); integers numerically (a
 * longer minimal form is a larger number); bytes lexicographically; strings by Unicode
 * code point (UTF-8 byte order; this differs from JS `<` on UTF-16 code units only for
 * astral characters against U+E000…U+FFFF). A tuple sorts before its extensions because
 * every tag is below 0xFF, which is also why `prefixRange` can end at prefix‖0xFF.
 *
 * @example
 * const key = encodeKey(['msg', 7, channelId])   // Uint8Array
 * decodeKey(key)                                // ['msg', 7, channelId]
 * store.range(prefixRange(['msg', 7]))          // every key under ('msg', 7)
 */
import { DecodeError, StorageError } from './errors.ts'

/** Re-exported: keys are compared with it (bytewise, unsigned, shorter prefix first). */
export { compareBytes } from './bytes.ts'

/** One element of a tuple key: a non-negative safe integer, a string or a byte string. */
export type KeyPart = number | string | Uint8Array

export const KeyTags = {
  bytes: 0x01,
  string: 0x02,
  /** Integers use tags intZero … intZero+7: the tag carries the byte length. */
  intZero: 0x20,
} as const

/** 2^53 − 1 fits in 7 bytes, so no integer form is longer. */
const intBytesMax = 7
const escapeByte = 0xff

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Encodes a tuple; throws StorageError for a part outside `KeyPart` (caller bug).
 * Every stored envelope writes keys, so this sizes the key first and fills one buffer,
 * with no intermediate arrays: ASCII strings (the usual short labels) are written char
 * by char, other strings through their UTF-8 bytes.
 */
export function encodeKey (parts: readonly KeyPart[]): Uint8Array {
  let size = 0
  for (let i = 0; i < parts.length; i++) size += partSize(parts[i])
  const out = new Uint8Array(size)
  let pos = 0
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    if (typeof part === 'number') pos = writeInt(out, pos, part)
    else if (typeof part === 'string' && isAscii(part)) pos = writeAscii(out, pos, part)
    else pos = writeEscaped(out, pos, typeof part === 'string' ? KeyTags.string : KeyTags.bytes, typeof part === 'string' ? utf8Of(part) : part)
  }
  return out
}

/** Encoded bytes of one part (tag, escaped content, terminator); checks its type and range. */
function partSize (part: KeyPart): number {
  if (typeof part === 'number') {
    if (!Number.isSafeInteger(part) || part < 0) throw new StorageError(`key part ${part} is not a non-negative safe integer`)
    return 1 + intLength(part)
  }
  if (part instanceof Uint8Array) return 2 + part.length + zeros(part)
  if (typeof part !== 'string') throw new StorageError(`key part of type ${typeof part} is not an integer, string or Uint8Array`)
  if (!isAscii(part)) { const bytes = utf8Of(part); return 2 + bytes.length + zeros(bytes) }
  let n = 2 + part.length
  for (let i = 0; i < part.length; i++) if (part.charCodeAt(i) === 0) n++
  return n
}

function isAscii (part: string): boolean {
  for (let i = 0; i < part.length; i++) if (part.charCodeAt(i) >= 0x80) return false
  return true
}

function writeAscii (out: Uint8Array, pos: number, part: string): number {
  out[pos++] = KeyTags.string
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i)
    out[pos++] = c
    if (c === 0) out[pos++] = escapeByte
  }
  out[pos++] = 0
  return pos
}

function utf8Of (part: string): Uint8Array {
  if (!part.isWellFormed()) throw new StorageError('key part string contains a lone surrogate')
  return utf8Encoder.encode(part)
}

/** Bytes in the minimal big-endian form of a safe integer (0 for 0). */
function intLength (value: number): number {
  let n = 0
  // Division, not bit shifts: shifts truncate to 32 bits.
  for (let v = value; v > 0; v = Math.floor(v / 256)) n++
  return n
}

function zeros (bytes: Uint8Array): number {
  let n = 0
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) n++
  return n
}

function writeInt (out: Uint8Array, pos: number, value: number): number {
  const n = intLength(value)
  out[pos] = KeyTags.intZero + n
  for (let i = n, v = value; i > 0; i--, v = Math.floor(v / 256)) out[pos + i] = v % 256
  return pos + 1 + n
}

function writeEscaped (out: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  out[pos++] = tag
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    out[pos++] = b
    if (b === 0) out[pos++] = escapeByte
  }
  out[pos++] = 0
  return pos
}

/** Decodes a key produced by `encodeKey`; throws DecodeError on anything else. */
export function decodeKey (bytes: Uint8Array): KeyPart[] {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('key is not a Uint8Array')
  const parts: KeyPart[] = []
  let pos = 0
  while (pos < bytes.length) {
    const tag = bytes[pos++]
    if (tag === KeyTags.bytes || tag === KeyTags.string) {
      const [raw, next] = readEscaped(bytes, pos)
      parts.push(tag === KeyTags.bytes ? raw : decodeUtf8(raw))
      pos = next
    } else if (tag >= KeyTags.intZero && tag <= KeyTags.intZero + intBytesMax) {
      parts.push(readInt(bytes, pos, tag - KeyTags.intZero))
      pos += tag - KeyTags.intZero
    } else {
      throw new DecodeError(`unknown key tag 0x${tag.toString(16).padStart(2, '0')} at byte ${pos - 1}`)
    }
  }
  return parts
}

function readEscaped (bytes: Uint8Array, start: number): [Uint8Array, number] {
  const out: number[] = []
  let pos = start
  while (pos < bytes.length) {
    const b = bytes[pos++]
    if (b !== 0) {
      out.push(b)
    } else if (bytes[pos] === escapeByte) {
      out.push(0)
      pos++
    } else {
      return [Uint8Array.from(out), pos]
    }
  }
  throw new DecodeError(`unterminated byte or string key part starting at byte ${start - 1}`)
}

function decodeUtf8 (raw: Uint8Array): string {
  try {
    return utf8Decoder.decode(raw)
  } catch (cause) {
    throw new DecodeError('string key part is not valid UTF-8', { cause })
  }
}

function readInt (bytes: Uint8Array, start: number, length: number): number {
  if (start + length > bytes.length) throw new DecodeError(`truncated integer key part at byte ${start - 1}`)
  if (length > 0 && bytes[start] === 0) throw new DecodeError(`non-minimal integer key part at byte ${start - 1}`)
  let value = 0
  for (let i = 0; i < length; i++) value = value * 256 + bytes[start + i]
  if (!Number.isSafeInteger(value)) throw new DecodeError(`integer key part beyond 2^53 - 1 at byte ${start - 1}`)
  return value
}

/**
 * The range holding every key whose tuple starts with `parts` (including `parts` itself):
 * every extension begins with a tag byte below 0xFF, so prefix‖0xFF bounds them all.
 */
export function prefixRange (parts: readonly KeyPart[]): { gte: Uint8Array, lt: Uint8Array } {
  const gte = encodeKey(parts)
  const lt = new Uint8Array(gte.length + 1)
  lt.set(gte)
  lt[gte.length] = escapeByte
  return { gte, lt }
}
