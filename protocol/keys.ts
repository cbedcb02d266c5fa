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

/** Encodes a tuple; throws StorageError for a part outside `KeyPart` (caller bug). */
export function encodeKey (parts: readonly KeyPart[]): Uint8Array {
  const chunks: number[] = []
  for (const part of parts) appendPart(chunks, part)
  return Uint8Array.from(chunks)
}

function appendPart (out: number[], part: KeyPart): void {
  if (typeof part === 'number') appendInt(out, part)
  else if (typeof part === 'string') {
    if (!part.isWellFormed()) throw new StorageError('key part string contains a lone surrogate')
    appendEscaped(out, KeyTags.string, utf8Encoder.encode(part))
  } else if (part instanceof Uint8Array) appendEscaped(out, KeyTags.bytes, part)
  else throw new StorageError(`key part of type ${typeof part} is not an integer, string or Uint8Array`)
}

function appendInt (out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StorageError(`key part ${value} is not a non-negative safe integer`)
  }
  const bytes: number[] = []
  // Division, not bit shifts: shifts truncate to 32 bits.
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256)
  out.push(KeyTags.intZero + bytes.length, ...bytes)
}

function appendEscaped (out: number[], tag: number, bytes: Uint8Array): void {
  out.push(tag)
  for (const b of bytes) {
    out.push(b)
    if (b === 0) out.push(escapeByte)
  }
  out.push(0)
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
