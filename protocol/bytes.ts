/**
 * Byte helpers shared by the codecs: canonical unsigned varints (LEB128, minimal
 * form only, at most 2^53 − 1), hex, comparison, a bounds-checked reader and a
 * sizing-first writer.
 *
 * @example
 * const w = new ByteWriter(varintLength(300)); w.varint(300); const r = new ByteReader(w.finish()); r.varint() // 300
 */
import { DecodeError } from './errors.ts'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function toHex (bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]]
  return out
}

export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new DecodeError(`not a hex string: ${hex.slice(0, 16)}`)
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Bytewise comparison: negative, zero or positive. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

export function concatBytes (parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) { out.set(p, offset); offset += p.length }
  return out
}

export function utf8 (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true })
export function fromUtf8 (bytes: Uint8Array): string {
  try { return fatalDecoder.decode(bytes) } catch { throw new DecodeError('invalid UTF-8') }
}

/**
 * Bytes as a string of one char per byte (each char < 256): a compact Map key whose
 * string order is the bytes' order. Every received copy of every envelope makes one
 * for its 32-byte id, so that length takes a path with explicit arguments (about 3×
 * faster than `apply` on Node 24); other lengths use `apply`.
 */
export function binaryString (bytes: Uint8Array): string {
  if (bytes.length !== 32) return String.fromCharCode.apply(null, bytes as unknown as number[])
  const b = bytes
  return String.fromCharCode(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15],
    b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23], b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31])
}

/** The inverse of `binaryString` (a fresh copy). */
export function fromBinaryString (s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

/** Bytes a value takes as a varint. */
export function varintLength (value: number): number {
  let n = 1
  while (value >= 0x80) { value = Math.floor(value / 0x80); n++ }
  return n
}

/** Slab size for `transientBytes`, and the largest request it carves (bigger ones get their own buffer). */
const slabBytes = 64 * 1024
const slabCarveBytesMax = 4 * 1024
let slab = new Uint8Array(0)
let slabOffset = 0

/**
 * A zeroed buffer for bytes that are about to leave (a store record, an outgoing frame),
 * carved from a shared slab as Node's Buffer pool does. A fresh Uint8Array of a few hundred
 * bytes makes V8 create an off-heap ArrayBuffer: about 0.5 µs, and several µs once the heap
 * holds millions of objects (15% of a 200-node simulation went there). A carved view costs
 * tens of ns. Regions are never reused, so nothing leaks between callers, but a view kept
 * for long pins its whole slab: never use it for what is stored in memory. Views share an
 * ArrayBuffer, so readers must honour `byteOffset` (everything here does).
 */
export function transientBytes (size: number): Uint8Array {
  if (size > slabCarveBytesMax) return new Uint8Array(size)
  if (slabOffset + size > slab.length) { slab = new Uint8Array(slabBytes); slabOffset = 0 }
  const out = slab.subarray(slabOffset, slabOffset + size)
  slabOffset += (size + 7) & ~7 // keep views 8-byte aligned
  return out
}

/** A writer over a buffer of a size computed in advance (allocate once). */
export class ByteWriter {
  readonly buffer: Uint8Array
  offset = 0
  /** With `transient`, the buffer comes from `transientBytes` (for bytes handed on at once). */
  constructor (size: number, options: { transient?: boolean } = {}) { this.buffer = options.transient === true ? transientBytes(size) : new Uint8Array(size) }

  u8 (value: number): void { this.buffer[this.offset++] = value }

  varint (value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`)
    while (value >= 0x80) {
      this.buffer[this.offset++] = (value % 0x80) | 0x80
      value = Math.floor(value / 0x80)
    }
    this.buffer[this.offset++] = value
  }

  /** Big-endian unsigned integer of `width` bytes (≤ 6, so it stays a safe integer). */
  uintBE (value: number, width: number): void {
    for (let i = width - 1; i >= 0; i--) { this.buffer[this.offset + i] = value % 256; value = Math.floor(value / 256) }
    this.offset += width
  }

  bytes (value: Uint8Array): void { this.buffer.set(value, this.offset); this.offset += value.length }

  finish (): Uint8Array {
    if (this.offset !== this.buffer.length) throw new RangeError(`writer size mismatch: wrote ${this.offset} of ${this.buffer.length}`)
    return this.buffer
  }
}

/** A reader that checks every length against what remains before it slices. */
export class ByteReader {
  readonly buffer: Uint8Array
  offset = 0
  end: number
  constructor (buffer: Uint8Array, end = buffer.length) { this.buffer = buffer; this.end = end }

  remaining (): number { return this.end - this.offset }

  u8 (): number {
    if (this.offset >= this.end) throw new DecodeError('truncated: expected a byte')
    return this.buffer[this.offset++]
  }

  /** Canonical varint: minimal form, at most 2^53 − 1. */
  varint (): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.u8()
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new DecodeError('non-canonical varint (trailing zero byte)')
        if (!Number.isSafeInteger(value)) throw new DecodeError('varint exceeds 2^53 - 1')
        return value
      }
      scale *= 0x80
    }
    throw new DecodeError('varint longer than 8 bytes')
  }

  uintBE (width: number): number {
    this.need(width)
    let value = 0
    for (let i = 0; i < width; i++) value = value * 256 + this.buffer[this.offset + i]
    this.offset += width
    return value
  }

  /** A view of the next `length` bytes (no copy: callers that keep it must copy). */
  bytes (length: number): Uint8Array {
    this.need(length)
    const out = this.buffer.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  need (length: number): void {
    if (length > this.end - this.offset) throw new DecodeError(`truncated: need ${length} bytes, have ${this.end - this.offset}`)
  }

  done (): void {
    if (this.offset !== this.end) throw new DecodeError(`${this.end - this.offset} trailing bytes`)
  }
}
