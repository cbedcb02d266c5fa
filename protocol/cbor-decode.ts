/**
 * Strict CBOR decoder for bytes from peers. It accepts exactly one byte form per
 * value (the form `encodeCanonical` writes) and refuses everything else with a
 * `DecodeError`, or a `LimitError` when a size, count or depth is beyond the limits.
 *
 * Refused: tags (major type 6, so no cbor-x records, shared references or typed
 * arrays), floats, `undefined` and every simple value except false/true/null,
 * indefinite lengths, reserved additional info 28–30, non-minimal heads, integers
 * outside ±(2^53 − 1), map keys other than uint/text, map keys out of bytewise order or
 * repeated, the keys `__proto__`/`constructor`/`prototype`, invalid UTF-8, trailing bytes,
 * truncated input.
 *
 * Safety: nesting depth is checked before descending, so recursion is at most
 * `depthMax` frames deep whatever the input. Every declared length or count is checked
 * against its limit and against the bytes actually left (an array item needs ≥ 1 byte,
 * a map entry ≥ 2) before anything is allocated, so the work and memory of a decode are
 * bounded by the input's length.
 *
 * Byte strings are returned as fresh copies, never views into `bytes`: decoded ids and
 * ciphertexts are retained for days in queues and stores, and a view would pin the whole
 * (up to 64 KiB) frame buffer and alias a buffer the transport may reuse.
 *
 * @example
 * const v = decodeStrict(Uint8Array.of(0x82, 0x01, 0x41, 0xff)) // [1, Uint8Array [0xff]]
 * decodeStrict(Uint8Array.of(0x18, 0x17)) // throws DecodeError (non-minimal 23)
 */
import { DecodeError, LimitError } from './errors.ts'
import {
  compareBytes, forbiddenKeys, resolveLimits,
  type CborKey, type CborLimits, type CborMap, type CborOptions, type CborValue,
} from './cbor-core.ts'

interface State {
  b: Uint8Array
  p: number
  lim: Readonly<CborLimits>
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const twoTo32 = 0x1_0000_0000

function fail (reason: string, at: number, detail?: string): never {
  throw new DecodeError(`cbor: ${reason} at byte ${at}${detail === undefined ? '' : `: ${detail}`}`)
}

function tooBig (what: string, at: number, n: number, max: number): never {
  throw new LimitError(`cbor: ${what} over limit at byte ${at}: ${n === Infinity ? '≥ 2^53' : n} > ${max}`)
}

/** Decode exactly one canonical CBOR item that spans all of `bytes`. */
export function decodeStrict (bytes: Uint8Array, options?: CborOptions): CborValue {
  // A plain Uint8Array view, so that `slice` copies even when given a Node Buffer
  // (whose `slice` returns a view).
  const b = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const st: State = { b, p: 0, lim: resolveLimits(options) }
  const v = item(st, 0)
  if (st.p !== b.length) fail('trailing bytes', st.p, `${b.length - st.p} after the top-level item`)
  return v
}

/**
 * Read the argument of a head whose additional info is `ai` (the initial byte is
 * already consumed). Returns Infinity for 8-byte values beyond 2^53 − 1, which callers
 * turn into a DecodeError (integers) or a LimitError (lengths and counts).
 */
function argument (st: State, ai: number, at: number): number {
  if (ai < 24) return ai
  const { b } = st
  const p = st.p
  let v: number
  let min: number
  if (ai === 24) {
    if (p + 1 > b.length) fail('truncated', at, 'head')
    v = b[p]; min = 24; st.p = p + 1
  } else if (ai === 25) {
    if (p + 2 > b.length) fail('truncated', at, 'head')
    v = (b[p] << 8) | b[p + 1]; min = 0x100; st.p = p + 2
  } else if (ai === 26) {
    if (p + 4 > b.length) fail('truncated', at, 'head')
    v = b[p] * 0x100_0000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]); min = 0x1_0000; st.p = p + 4
  } else if (ai === 27) {
    if (p + 8 > b.length) fail('truncated', at, 'head')
    const hi = b[p] * 0x100_0000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
    const lo = b[p + 4] * 0x100_0000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7])
    st.p = p + 8
    if (hi === 0) fail('non-minimal head', at, `${lo} fits in 4 bytes`)
    // 2^53 − 1 has hi = 0x1f_ffff; anything above cannot be a safe integer.
    return hi > 0x1f_ffff ? Infinity : hi * twoTo32 + lo
  } else if (ai === 31) {
    return fail('indefinite length', at, 'only definite lengths are allowed')
  } else {
    return fail('reserved additional info', at, `${ai}`)
  }
  if (v < min) fail('non-minimal head', at, `${v} fits in a shorter head`)
  return v
}

/** A declared length or count: within `max` (LimitError), then within the input (DecodeError). */
function declared (st: State, n: number, max: number, bytesPerUnit: number, what: string, at: number): number {
  if (n > max) tooBig(what, at, n, max)
  const left = st.b.length - st.p
  if (n * bytesPerUnit > left) fail('declared length exceeds input', at, `${what} ${n} needs ≥ ${n * bytesPerUnit} bytes, ${left} left`)
  return n
}

function item (st: State, depth: number): CborValue {
  const at = st.p
  if (at >= st.b.length) fail('truncated', at, 'expected an item')
  const ib = st.b[at]
  st.p = at + 1
  const major = ib >> 5
  const ai = ib & 0x1f
  switch (major) {
    case 0: {
      const n = argument(st, ai, at)
      if (n === Infinity) fail('unsafe integer', at, 'beyond 2^53 - 1')
      return n
    }
    case 1: {
      const n = argument(st, ai, at)
      // -1 - n must stay ≥ -(2^53 - 1), so n ≤ 2^53 - 2.
      if (n >= Number.MAX_SAFE_INTEGER) fail('unsafe integer', at, 'below -(2^53 - 1)')
      return -1 - n
    }
    case 2: {
      const n = declared(st, argument(st, ai, at), st.lim.bytesMax, 1, 'byte string bytes', at)
      const out = st.b.slice(st.p, st.p + n)
      st.p += n
      return out
    }
    case 3: return text(st, ai, at)
    case 4: return array(st, ai, at, depth)
    case 5: return map(st, ai, at, depth)
    case 6: return fail('tag', at, 'tags are not allowed')
    default: return simple(ai, at)
  }
}

function simple (ai: number, at: number): CborValue {
  if (ai === 20) return false
  if (ai === 21) return true
  if (ai === 22) return null
  if (ai >= 25 && ai <= 27) return fail('float', at, 'floats are not allowed')
  if (ai === 31) return fail('unexpected break', at)
  if (ai >= 28) return fail('reserved additional info', at, `${ai}`)
  return fail('simple value', at, ai === 23 ? 'undefined is not allowed' : `simple value ${ai === 24 ? '(1-byte)' : ai} is not allowed`)
}

function text (st: State, ai: number, at: number): string {
  const n = declared(st, argument(st, ai, at), st.lim.textBytesMax, 1, 'text bytes', at)
  const { b } = st
  const start = st.p
  const end = start + n
  st.p = end
  // ASCII fast path for the short keys and labels that dominate our frames.
  if (n <= 32) {
    let s = ''
    let i = start
    for (; i < end; i++) {
      const c = b[i]
      if (c >= 0x80) break
      s += String.fromCharCode(c)
    }
    if (i === end) return s
  }
  try {
    return utf8.decode(b.subarray(start, end))
  } catch {
    return fail('invalid utf-8', at)
  }
}

function array (st: State, ai: number, at: number, depth: number): CborValue[] {
  if (depth >= st.lim.depthMax) throw new LimitError(`cbor: nesting depth over limit at byte ${at}: > ${st.lim.depthMax}`)
  const n = declared(st, argument(st, ai, at), st.lim.arrayItemsMax, 1, 'array items', at)
  // Grown by push rather than `new Array(n)`: memory then follows the items actually
  // decoded, never the count a peer declared.
  const out: CborValue[] = []
  for (let i = 0; i < n; i++) out.push(item(st, depth + 1))
  return out
}

function map (st: State, ai: number, at: number, depth: number): CborMap {
  if (depth >= st.lim.depthMax) throw new LimitError(`cbor: nesting depth over limit at byte ${at}: > ${st.lim.depthMax}`)
  const n = declared(st, argument(st, ai, at), st.lim.mapEntriesMax, 2, 'map entries', at)
  const out: CborMap = new Map()
  const { b } = st
  let prevStart = -1
  let prevEnd = -1
  for (let i = 0; i < n; i++) {
    const keyStart = st.p
    const major = keyStart < b.length ? b[keyStart] >> 5 : 0
    if (major !== 0 && major !== 3) fail('map key type', keyStart, 'keys must be unsigned integers or text')
    const key = item(st, depth + 1) as CborKey
    const keyEnd = st.p
    if (prevStart >= 0) {
      const c = compareBytes(b, prevStart, prevEnd, b, keyStart, keyEnd)
      if (c === 0) fail('duplicate map key', keyStart, JSON.stringify(key))
      if (c > 0) fail('unsorted map key', keyStart, `${JSON.stringify(key)} must come before the previous key`)
    }
    if (typeof key === 'string' && forbiddenKeys.has(key)) fail('forbidden map key', keyStart, key)
    out.set(key, item(st, depth + 1))
    prevStart = keyStart
    prevEnd = keyEnd
  }
  return out
}
