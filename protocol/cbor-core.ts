/**
 * Shared pieces of the strict CBOR codec: the value model, the limits each call
 * runs under, and the few rules both directions enforce (allowed map keys, key order).
 * Import the codec itself from `cbor.ts`; this module only exists so that the
 * decoder, the encoder and the readers agree on one definition of each rule.
 *
 * @example
 * const lim = resolveLimits({ arrayItemsMax: 1024 }) // tighter than cborArrayItemsMax
 * lim.arrayItemsMax // 1024
 */
import {
  cborArrayItemsMax, cborBytesMax, cborDepthMax, cborMapEntriesMax, cborTextBytesMax,
} from './limits.ts'

/**
 * The subset of CBOR ddil-relay speaks. Numbers are safe integers only; byte strings
 * are `Uint8Array`; maps are `Map`s keyed by unsigned integers or text.
 */
export type CborValue =
  | number
  | Uint8Array
  | string
  | boolean
  | null
  | CborValue[]
  | CborMap

export type CborKey = number | string
export type CborMap = Map<CborKey, CborValue>

/**
 * Per-call limits. Each may only tighten the global bound in `limits.ts` (values above
 * it are clamped down), so a caller can never loosen what a peer is allowed to send.
 */
export interface CborLimits {
  /** Most nested arrays/maps (a scalar at top level has depth 0). */
  depthMax: number
  arrayItemsMax: number
  mapEntriesMax: number
  /** Longest text string, UTF-8 bytes. */
  textBytesMax: number
  /** Longest byte string, bytes. */
  bytesMax: number
}

export type CborOptions = Partial<CborLimits>

export const defaultCborLimits: Readonly<CborLimits> = Object.freeze({
  depthMax: cborDepthMax,
  arrayItemsMax: cborArrayItemsMax,
  mapEntriesMax: cborMapEntriesMax,
  textBytesMax: cborTextBytesMax,
  bytesMax: cborBytesMax,
})

function tighter (given: number | undefined, bound: number): number {
  if (given === undefined || Number.isNaN(given)) return bound
  return Math.max(0, Math.min(given, bound))
}

/** The effective limits for one call: the defaults, tightened by `options`. */
export function resolveLimits (options?: CborOptions): Readonly<CborLimits> {
  if (options === undefined) return defaultCborLimits
  return {
    depthMax: tighter(options.depthMax, cborDepthMax),
    arrayItemsMax: tighter(options.arrayItemsMax, cborArrayItemsMax),
    mapEntriesMax: tighter(options.mapEntriesMax, cborMapEntriesMax),
    textBytesMax: tighter(options.textBytesMax, cborTextBytesMax),
    bytesMax: tighter(options.bytesMax, cborBytesMax),
  }
}

/**
 * Text keys we refuse in either direction. Our maps are `Map`s, which cannot be
 * polluted, but decoded frames end up in logs, JSON and object spreads further on;
 * refusing these at the boundary keeps that from ever mattering.
 */
export const forbiddenKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Bytewise lexicographic order (RFC 8949 §4.2.1): negative, zero or positive like `Array#sort`. */
export function compareBytes (a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart)
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i] - b[bStart + i]
    if (d !== 0) return d
  }
  return (aEnd - aStart) - (bEnd - bStart)
}

/** A short description of a value for error messages ("byte string of 31 bytes"). */
export function describe (v: CborValue | undefined): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (typeof v === 'number') return `integer ${v}`
  if (typeof v === 'boolean') return `${v}`
  if (typeof v === 'string') return `text of ${v.length} chars`
  if (v instanceof Uint8Array) return `byte string of ${v.length} bytes`
  if (Array.isArray(v)) return `array of ${v.length} items`
  if (v instanceof Map) return `map of ${v.size} entries`
  return typeof v
}
