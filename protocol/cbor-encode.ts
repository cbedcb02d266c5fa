/**
 * Canonical CBOR encoder (RFC 8949 §4.2.1 deterministic encoding) for the value model
 * in `cbor-core.ts`: minimal heads, definite lengths, map keys sorted by their encoded
 * bytes. Every output is accepted by `decodeStrict`, and re-encoding what it decodes
 * gives the same bytes, so each value has exactly one byte form (signatures and ids
 * are computed over these bytes).
 *
 * Sizing first: one pass validates the value and computes the exact length (sorting map
 * keys and measuring strings as it goes), then one buffer is allocated and filled.
 *
 * It refuses (DecodeError) what `decodeStrict` would refuse at the receiver: non-integer
 * or unsafe numbers, strings with lone surrogates (they cannot be UTF-8), keys that are
 * not uint/text or are forbidden, and any other JavaScript type; and (LimitError) values
 * beyond the same limits, which also stops cyclic structures at `depthMax`.
 *
 * cbor-x is not used here: configured without tags it still writes integers ≥ 2^32 (our
 * millisecond timestamps) as float64 and writes Map entries in insertion order, so its
 * bytes are not canonical for our subset.
 *
 * @example
 * encodeCanonical(new Map([['b', 1], [2, 'x']])) // a2 02 61 78 61 62 01: uint keys first
 */
import { DecodeError, LimitError } from './errors.ts'
import {
  compareBytes, forbiddenKeys, resolveLimits,
  type CborLimits, type CborMap, type CborOptions, type CborValue,
} from './cbor-core.ts'

/** A map entry; `text` holds a text key's UTF-8 bytes (uint keys are written from `key`). */
interface Entry { key: number | string, text: Uint8Array | null, val: CborValue }

/** What the sizing pass learnt, consumed in the same traversal order by the writing pass. */
interface Plan {
  lim: Readonly<CborLimits>
  strLens: number[]
  maps: Entry[][]
  s: number
  m: number
}

const utf8 = new TextEncoder()

function refuse (detail: string): never {
  throw new DecodeError(`cbor: cannot encode ${detail}`)
}

function over (what: string, n: number, max: number): never {
  throw new LimitError(`cbor: cannot encode ${what} over limit: ${n} > ${max}`)
}

/** Encode `value` canonically; throws DecodeError/LimitError for values outside the subset or limits. */
export function encodeCanonical (value: CborValue, options?: CborOptions): Uint8Array {
  const plan: Plan = { lim: resolveLimits(options), strLens: [], maps: [], s: 0, m: 0 }
  const out = new Uint8Array(sizeOf(value, 0, plan))
  // Both passes traverse in the same order; a size mismatch would leave zero padding or drop
  // bytes, which decodeStrict refuses, so the round-trip tests would catch it.
  write(value, out, 0, plan)
  return out
}

function headSize (n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : n < 0x1_0000_0000 ? 5 : 9
}

/** UTF-8 length of `s`, refusing lone surrogates (TextEncoder would silently replace them). */
function utf8Length (s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) { n += 1; continue }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1)
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) refuse(`text with a lone surrogate at index ${i}`)
      n += 2 // 4 bytes for 2 code units
      i++
      continue
    }
    n += 2
  }
  return n
}

function sizeOf (v: CborValue, depth: number, plan: Plan): number {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v)) refuse(`number ${v}: only safe integers`)
      return headSize(v < 0 ? -1 - v : v)
    case 'string': {
      const n = utf8Length(v)
      if (n > plan.lim.textBytesMax) over('text bytes', n, plan.lim.textBytesMax)
      plan.strLens.push(n)
      return headSize(n) + n
    }
    case 'boolean': return 1
    case 'object': break
    default: return refuse(`a value of type ${typeof v}`)
  }
  if (v === null) return 1
  if (v instanceof Uint8Array) {
    if (v.length > plan.lim.bytesMax) over('byte string bytes', v.length, plan.lim.bytesMax)
    return headSize(v.length) + v.length
  }
  if (depth >= plan.lim.depthMax) over('nesting depth', depth + 1, plan.lim.depthMax)
  if (Array.isArray(v)) {
    if (v.length > plan.lim.arrayItemsMax) over('array items', v.length, plan.lim.arrayItemsMax)
    let n = headSize(v.length)
    for (let i = 0; i < v.length; i++) n += sizeOf(v[i], depth + 1, plan)
    return n
  }
  if (v instanceof Map) return sizeOfMap(v, depth, plan)
  return refuse(`an object of class ${(v as object).constructor?.name ?? 'null'}`)
}

/**
 * Order of encoded keys without encoding uint keys: with minimal heads, uint keys (major 0)
 * all precede text keys (major 3) and sort numerically; text keys sort by UTF-8 length
 * (the head) and then by UTF-8 bytes, which is not JavaScript's UTF-16 string order.
 */
function compareEntries (a: Entry, b: Entry): number {
  if (a.text === null) return b.text === null ? (a.key as number) - (b.key as number) : -1
  if (b.text === null) return 1
  return (a.text.length - b.text.length) || compareBytes(a.text, 0, a.text.length, b.text, 0, b.text.length)
}

function sizeOfMap (v: CborMap, depth: number, plan: Plan): number {
  if (v.size > plan.lim.mapEntriesMax) over('map entries', v.size, plan.lim.mapEntriesMax)
  const entries: Entry[] = []
  v.forEach((val, key) => { entries.push({ key, text: textKey(key, plan.lim), val }) })
  entries.sort(compareEntries)
  plan.maps.push(entries)
  let n = headSize(entries.length)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    // A JS Map cannot hold two equal keys, but -0/0 and future key types make this cheap insurance.
    if (i > 0 && compareEntries(entries[i - 1], e) === 0) refuse('a map with a duplicate key')
    n += (e.text === null ? headSize(e.key as number) : headSize(e.text.length) + e.text.length) + sizeOf(e.val, depth + 1, plan)
  }
  return n
}

/** Validates a key; returns a text key's UTF-8 bytes, or null for a uint key. */
function textKey (k: unknown, lim: Readonly<CborLimits>): Uint8Array | null {
  if (typeof k === 'number') {
    if (!Number.isSafeInteger(k) || k < 0) refuse(`map key ${k}: keys must be unsigned integers or text`)
    return null
  }
  if (typeof k !== 'string') return refuse(`a map key of type ${typeof k}`)
  if (forbiddenKeys.has(k)) refuse(`the map key ${JSON.stringify(k)}`)
  const n = utf8Length(k)
  if (n > lim.textBytesMax) over('text bytes', n, lim.textBytesMax)
  return utf8.encode(k)
}

/** Minimal head for major type `major` with argument `n` (0 ≤ n ≤ 2^53 − 1); returns the next position. */
function writeHead (out: Uint8Array, p: number, major: number, n: number): number {
  const mt = major << 5
  if (n < 24) { out[p] = mt | n; return p + 1 }
  if (n < 0x100) { out[p] = mt | 24; out[p + 1] = n; return p + 2 }
  if (n < 0x1_0000) { out[p] = mt | 25; out[p + 1] = n >> 8; out[p + 2] = n & 0xff; return p + 3 }
  if (n < 0x1_0000_0000) {
    out[p] = mt | 26
    out[p + 1] = n >>> 24; out[p + 2] = (n >>> 16) & 0xff; out[p + 3] = (n >>> 8) & 0xff; out[p + 4] = n & 0xff
    return p + 5
  }
  const hi = Math.floor(n / 0x1_0000_0000)
  const lo = n >>> 0
  out[p] = mt | 27
  out[p + 1] = hi >>> 24; out[p + 2] = (hi >>> 16) & 0xff; out[p + 3] = (hi >>> 8) & 0xff; out[p + 4] = hi & 0xff
  out[p + 5] = lo >>> 24; out[p + 6] = (lo >>> 16) & 0xff; out[p + 7] = (lo >>> 8) & 0xff; out[p + 8] = lo & 0xff
  return p + 9
}

function writeText (s: string, out: Uint8Array, p: number, plan: Plan): number {
  const n = plan.strLens[plan.s++]
  p = writeHead(out, p, 3, n)
  if (n === s.length) {
    for (let i = 0; i < n; i++) out[p + i] = s.charCodeAt(i)
  } else {
    utf8.encodeInto(s, out.subarray(p, p + n))
  }
  return p + n
}

function write (v: CborValue, out: Uint8Array, p: number, plan: Plan): number {
  if (typeof v === 'number') return v < 0 ? writeHead(out, p, 1, -1 - v) : writeHead(out, p, 0, v)
  if (typeof v === 'string') return writeText(v, out, p, plan)
  if (typeof v === 'boolean') { out[p] = v ? 0xf5 : 0xf4; return p + 1 }
  if (v === null) { out[p] = 0xf6; return p + 1 }
  if (v instanceof Uint8Array) {
    p = writeHead(out, p, 2, v.length)
    out.set(v, p)
    return p + v.length
  }
  if (Array.isArray(v)) {
    p = writeHead(out, p, 4, v.length)
    for (let i = 0; i < v.length; i++) p = write(v[i], out, p, plan)
    return p
  }
  const entries = plan.maps[plan.m++]
  p = writeHead(out, p, 5, entries.length)
  for (const e of entries) {
    if (e.text === null) p = writeHead(out, p, 0, e.key as number)
    else { p = writeHead(out, p, 3, e.text.length); out.set(e.text, p); p += e.text.length }
    p = write(e.val, out, p, plan)
  }
  return p
}
