/**
 * Strict CBOR codec: pinned vectors (test/vectors/cbor.json), generated limit probes,
 * cbor-x interop refusals, encoder refusals, typed readers, and seeded properties.
 * Each refusal asserts the error code and the reason in the message, so removing a
 * defence changes the outcome (another reason, another code, or acceptance).
 *
 * Replay a property failure: CBOR_SEED=<seed> node test/cbor.test.ts
 */
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { Encoder } from 'cbor-x'
import {
  decodeStrict, encodeCanonical, asArray, asUint, asInt, asBytes, asText, asBool, asMap, orNull, field, onlyKeys,
  type CborValue, type CborOptions,
} from '../protocol/cbor.ts'
import { isDdilError } from '../protocol/errors.ts'
import {
  cborArrayItemsMax, cborBytesMax, cborDepthMax, cborMapEntriesMax, cborTextBytesMax,
} from '../protocol/limits.ts'

type Json = null | boolean | number | string | Json[] | { bytes: string } | { map: Array<[number | string, Json]> }
interface Vectors {
  accept: Array<{ name: string, hex: string, value: Json }>
  reject: Array<{ name: string, hex: string, code: string, why: string }>
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/cbor.json', import.meta.url), 'utf8')) as Vectors

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))
const filled = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte)
/** A minimal head for lengths < 2^32, written independently of the encoder under test. */
function head (major: number, n: number): Uint8Array {
  const m = major << 5
  if (n < 24) return Uint8Array.of(m | n)
  if (n < 0x100) return Uint8Array.of(m | 24, n)
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff)
  return Uint8Array.of(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}

function fromJson (j: Json): CborValue {
  if (Array.isArray(j)) return j.map(fromJson)
  if (j !== null && typeof j === 'object') {
    if ('bytes' in j) return fromHex(j.bytes)
    return new Map(j.map.map(([k, v]) => [k, fromJson(v)]))
  }
  return j
}

/**
 * Exact structural equality: same types and byte contents; map entries in the same
 * order when `ordered` (decoded maps keep wire order), else as sets of entries.
 */
function same (a: CborValue, b: CborValue, ordered = true): boolean {
  if (a instanceof Uint8Array) return b instanceof Uint8Array && toHex(a) === toHex(b)
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i], ordered))
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false
    const eb = [...b]
    return [...a].every(([k, v], i) => ordered
      ? k === eb[i][0] && same(v, eb[i][1], ordered)
      : b.has(k) && same(v, b.get(k) as CborValue, ordered))
  }
  return a === b
}

/** The thrown error's code and message, or 'accepted'/'untyped' so a wrong outcome shows in the diff. */
function outcome (fn: () => unknown): { code: string, message: string } {
  try { fn() } catch (e) {
    return isDdilError(e) ? { code: e.code, message: e.message } : { code: 'untyped', message: String(e) }
  }
  return { code: 'accepted', message: '' }
}

/** The few assertions the helpers below use (tap's own Test type is heavy to name). */
interface Asserts {
  equal (found: unknown, wanted: unknown, message: string): unknown
  ok (value: unknown, message: string): unknown
  pass (message: string): unknown
  fail (message: string): unknown
}

function refuses (t: Asserts, fn: () => unknown, code: string, why: string, name: string): void {
  const o = outcome(fn)
  t.equal(o.code, code, `${name}: code`)
  t.ok(o.message.includes(why), `${name}: message ${JSON.stringify(o.message)} says ${JSON.stringify(why)}`)
}

t.test('vectors assume the limits in limits.ts', async t => {
  t.same([cborDepthMax, cborArrayItemsMax, cborMapEntriesMax, cborTextBytesMax, cborBytesMax], [16, 4096, 64, 4096, 65536])
})

t.test('accepted vectors decode to their value and re-encode to the same bytes', async t => {
  for (const v of vectors.accept) {
    const expected = fromJson(v.value)
    const got = decodeStrict(fromHex(v.hex))
    t.ok(same(got, expected), `${v.name}: decodes`)
    t.equal(toHex(encodeCanonical(expected)), v.hex, `${v.name}: encodes`)
  }
})

t.test('rejected vectors throw the pinned code and reason', async t => {
  for (const v of vectors.reject) refuses(t, () => decodeStrict(fromHex(v.hex)), v.code, v.why, v.name)
})

t.test('deep nesting is refused at the 17th level, whatever the input length', async t => {
  for (const n of [17, 10_000, 1_000_000]) {
    refuses(t, () => decodeStrict(filled(n, 0x81)), 'ERR_LIMIT', `at byte ${cborDepthMax}`, `${n} × 0x81`)
  }
  refuses(t, () => decodeStrict(filled(10_000, 0xa1)), 'ERR_DECODE', 'map key type', '10 000 × 0xa1 (map whose key is a map)')
  const maps = cat(...Array.from({ length: 10_000 }, () => Uint8Array.of(0xa1, 0x00)), Uint8Array.of(0x00))
  refuses(t, () => decodeStrict(maps), 'ERR_LIMIT', `nesting depth over limit at byte ${2 * cborDepthMax}`, '10 000 nested maps')
  const mixed = cat(...Array.from({ length: cborDepthMax / 2 }, () => Uint8Array.of(0x81, 0xa1, 0x00)), Uint8Array.of(0xf6))
  t.ok(decodeStrict(mixed) !== undefined, 'arrays and maps alternating to exactly cborDepthMax decode')
  refuses(t, () => decodeStrict(cat(filled(4, 0x81), Uint8Array.of(0)), { depthMax: 3 }), 'ERR_LIMIT', 'at byte 3', '{ depthMax: 3 }')
})

t.test('each count and size limit: exactly at it decodes, one over it is a LimitError', async t => {
  const arr = (n: number): Uint8Array => cat(head(4, n), new Uint8Array(n))
  t.equal((decodeStrict(arr(cborArrayItemsMax)) as CborValue[]).length, cborArrayItemsMax, 'array at limit')
  refuses(t, () => decodeStrict(arr(cborArrayItemsMax + 1)), 'ERR_LIMIT', 'array items over limit', 'array over limit')
  const map = (n: number): Uint8Array => cat(head(5, n), ...Array.from({ length: n }, (_, k) => cat(head(0, k), Uint8Array.of(0))))
  t.equal((decodeStrict(map(cborMapEntriesMax)) as Map<number, number>).size, cborMapEntriesMax, 'map at limit')
  refuses(t, () => decodeStrict(map(cborMapEntriesMax + 1)), 'ERR_LIMIT', 'map entries over limit', 'map over limit')
  const text = (n: number): Uint8Array => cat(head(3, n), filled(n, 0x61))
  t.equal((decodeStrict(text(cborTextBytesMax)) as string).length, cborTextBytesMax, 'text at limit')
  refuses(t, () => decodeStrict(text(cborTextBytesMax + 1)), 'ERR_LIMIT', 'text bytes over limit', 'text over limit')
  const bytes = (n: number): Uint8Array => cat(head(2, n), filled(n, 7))
  t.equal((decodeStrict(bytes(cborBytesMax)) as Uint8Array).length, cborBytesMax, 'byte string at limit')
  refuses(t, () => decodeStrict(bytes(cborBytesMax + 1)), 'ERR_LIMIT', 'byte string bytes over limit', 'byte string over limit')
})

t.test('pre-allocation amplifiers fail on the first declared count, before reading further', async t => {
  // 1 000 nested arrays each declaring 4 096 items: the first head already claims more than the input holds.
  const thin = cat(...Array.from({ length: 1000 }, () => head(4, cborArrayItemsMax)))
  refuses(t, () => decodeStrict(thin), 'ERR_DECODE', 'declared length exceeds input at byte 0', '1 000 nested 4096-item arrays')
  // With enough bytes for each count, the depth limit stops it after 16 arrays (grown by push, not pre-sized).
  const thick = cat(...Array.from({ length: 3000 }, () => head(4, cborArrayItemsMax)))
  refuses(t, () => decodeStrict(thick), 'ERR_LIMIT', `nesting depth over limit at byte ${3 * cborDepthMax}`, '3 000 nested 4096-item arrays')
  // Enough bytes for the outer count, but each nested head again declares more than is left.
  const fat = cat(head(4, 4000), head(4, 4000), new Uint8Array(3999))
  refuses(t, () => decodeStrict(fat), 'ERR_DECODE', 'declared length exceeds input at byte 3', 'nested declaration beyond what is left')
})

t.test('per-call options tighten the limits and never loosen them', async t => {
  const id = encodeCanonical(new Uint8Array(32))
  refuses(t, () => decodeStrict(id, { bytesMax: 16 }), 'ERR_LIMIT', 'byte string bytes over limit', 'bytesMax 16')
  t.equal((decodeStrict(id, { bytesMax: 32 }) as Uint8Array).length, 32, 'bytesMax 32 admits 32 bytes')
  refuses(t, () => decodeStrict(fromHex('83010203'), { arrayItemsMax: 2 }), 'ERR_LIMIT', 'array items over limit', 'arrayItemsMax 2')
  refuses(t, () => decodeStrict(fromHex('818100'), { depthMax: 1 }), 'ERR_LIMIT', 'nesting depth', 'depthMax 1')
  refuses(t, () => decodeStrict(fromHex('a200000100'), { mapEntriesMax: 1 }), 'ERR_LIMIT', 'map entries over limit', 'mapEntriesMax 1')
  refuses(t, () => decodeStrict(fromHex('626161'), { textBytesMax: 1 }), 'ERR_LIMIT', 'text bytes over limit', 'textBytesMax 1')
  const big = cat(head(4, cborArrayItemsMax + 1), new Uint8Array(cborArrayItemsMax + 1))
  const loose: CborOptions = { arrayItemsMax: 1e9, depthMax: 1e9 }
  refuses(t, () => decodeStrict(big, loose), 'ERR_LIMIT', 'array items over limit', 'a looser option is clamped to the global limit')
  refuses(t, () => encodeCanonical([1, 2, 3], { arrayItemsMax: 2 }), 'ERR_LIMIT', 'array items over limit', 'encoder honours options')
})

t.test('byte strings are fresh copies, even from a Node Buffer', async t => {
  const src = Buffer.from('82014401020304', 'hex')
  const [, b] = decodeStrict(src) as [number, Uint8Array]
  t.equal(b.constructor, Uint8Array, 'a plain Uint8Array')
  t.not(b.buffer, src.buffer, 'not a view of the input')
  src.fill(0)
  t.equal(toHex(b), '01020304', 'unchanged when the input buffer is reused')
  const inner = decodeStrict(src.subarray(0, 1)) // 0x00 after the fill
  t.equal(inner, 0, 'decodes a Buffer view at an offset')
})

t.test('what cbor-x writes with its extensions on is refused', async t => {
  const plain = new Encoder({ useRecords: false, mapsAsObjects: false })
  refuses(t, () => decodeStrict(plain.encode(new Uint8Array([1, 2]))), 'ERR_DECODE', 'tag', 'default Uint8Array (tag 64)')
  refuses(t, () => decodeStrict(plain.encode(new Uint16Array([1]))), 'ERR_DECODE', 'tag', 'typed array tag')
  refuses(t, () => decodeStrict(new Encoder({ useRecords: true }).encode({ a: 1 })), 'ERR_DECODE', 'tag', 'records')
  const shared = { x: 1 }
  refuses(t, () => decodeStrict(new Encoder({ structuredClone: true }).encode([shared, shared])), 'ERR_DECODE', 'tag', 'structured clone shared refs')
  refuses(t, () => decodeStrict(plain.encode(1.5)), 'ERR_DECODE', 'float', 'a float')
  refuses(t, () => decodeStrict(plain.encode(1_700_000_000_000)), 'ERR_DECODE', 'float', 'an integer ≥ 2^32 (cbor-x writes float64)')
  refuses(t, () => decodeStrict(plain.encode(undefined)), 'ERR_DECODE', 'simple value', 'undefined')
  refuses(t, () => decodeStrict(plain.encode(new Map([['b', 1], ['a', 2]]))), 'ERR_DECODE', 'unsorted map key', 'insertion-ordered map')
  refuses(t, () => decodeStrict(plain.encode(new Date(0))), 'ERR_DECODE', 'tag', 'a Date')
})

t.test('the encoder refuses values outside the subset', async t => {
  const bad: Array<[string, unknown, string, string]> = [
    ['1.5', 1.5, 'ERR_DECODE', 'only safe integers'], ['NaN', NaN, 'ERR_DECODE', 'only safe integers'],
    ['Infinity', Infinity, 'ERR_DECODE', 'only safe integers'], ['2^53', 2 ** 53, 'ERR_DECODE', 'only safe integers'],
    ['-2^53', -(2 ** 53), 'ERR_DECODE', 'only safe integers'], ['bigint', 1n, 'ERR_DECODE', 'type bigint'],
    ['undefined', undefined, 'ERR_DECODE', 'type undefined'], ['object', { a: 1 }, 'ERR_DECODE', 'class Object'],
    ['Int8Array', new Int8Array(1), 'ERR_DECODE', 'class Int8Array'], ['Date', new Date(0), 'ERR_DECODE', 'class Date'],
    ['lone high surrogate', 'a\ud800', 'ERR_DECODE', 'lone surrogate'], ['lone low surrogate', '\udc00b', 'ERR_DECODE', 'lone surrogate'],
    ['negative key', new Map([[-1, 0]]), 'ERR_DECODE', 'keys must be unsigned'], ['float key', new Map([[1.5, 0]]), 'ERR_DECODE', 'keys must be unsigned'],
    ['byte string key', new Map([[new Uint8Array(1), 0]]), 'ERR_DECODE', 'map key of type object'],
    ['__proto__ key', new Map([['__proto__', 0]]), 'ERR_DECODE', 'the map key "__proto__"'],
    ['constructor key', new Map([['constructor', 0]]), 'ERR_DECODE', 'the map key'],
    ['prototype key', new Map([['prototype', 0]]), 'ERR_DECODE', 'the map key'],
    ['array over limit', new Array(cborArrayItemsMax + 1).fill(0), 'ERR_LIMIT', 'array items over limit'],
    ['map over limit', new Map(Array.from({ length: cborMapEntriesMax + 1 }, (_, i) => [i, 0])), 'ERR_LIMIT', 'map entries over limit'],
    ['text over limit', 'é'.repeat(cborTextBytesMax / 2 + 1), 'ERR_LIMIT', 'text bytes over limit'],
    ['bytes over limit', new Uint8Array(cborBytesMax + 1), 'ERR_LIMIT', 'byte string bytes over limit'],
    ['text key over limit', new Map([['k'.repeat(cborTextBytesMax + 1), 0]]), 'ERR_LIMIT', 'text bytes over limit'],
  ]
  for (const [name, v, code, why] of bad) refuses(t, () => encodeCanonical(v as CborValue), code, why, name)
  const cyclic: CborValue[] = []
  cyclic.push(cyclic)
  refuses(t, () => encodeCanonical(cyclic), 'ERR_LIMIT', 'nesting depth over limit', 'a cyclic array')
  let deep: CborValue = 0
  for (let i = 0; i < cborDepthMax; i++) deep = [deep]
  t.equal(toHex(encodeCanonical(deep)), '81'.repeat(cborDepthMax - 1) + '8100', 'exactly cborDepthMax encodes')
  refuses(t, () => encodeCanonical([deep]), 'ERR_LIMIT', 'nesting depth over limit', 'one deeper')
})

t.test('map order is by encoded key bytes, whatever the insertion order', async t => {
  const entries: Array<[number | string, CborValue]> = [['bb', 1], [300, 2], ['a', 3], [5, 4], ['\u{10000}', 5], ['\ue000a', 6]]
  const fwd = encodeCanonical(new Map(entries))
  const back = encodeCanonical(new Map([...entries].reverse()))
  t.equal(toHex(fwd), toHex(back), 'same bytes for both insertion orders')
  t.same([...(decodeStrict(fwd) as Map<unknown, unknown>).keys()], [5, 300, 'a', 'bb', '\ue000a', '\u{10000}'])
})

t.test('typed readers narrow or throw a DecodeError that names the field', async t => {
  const frame = decodeStrict(encodeCanonical([1, new Uint8Array(31), 'hi', true, new Map([[0, null]])]))
  const [kind, id, text, flag, m] = asArray(frame, 'hello frame', 5)
  t.equal(asUint(kind, 'hello field 0', 255), 1)
  refuses(t, () => asArray(frame, 'hello frame', 4), 'ERR_DECODE', 'expected array of 4 items at hello frame, got array of 5 items', 'array length')
  refuses(t, () => asBytes(id, 'frame field 1', 32), 'ERR_DECODE', 'expected byte string of 32 bytes at frame field 1, got byte string of 31 bytes', 'bytes length')
  t.equal(asBytes(id, 'frame field 1', { max: 32 }).length, 31)
  refuses(t, () => asBytes(id, 'f', { min: 32, max: 64 }), 'ERR_DECODE', 'of 32..64 bytes', 'bytes range')
  refuses(t, () => asUint(kind, 'f0', 255, 2), 'ERR_DECODE', 'integer in 2..255 at f0, got integer 1', 'uint min')
  refuses(t, () => asUint(-1, 'f0'), 'ERR_DECODE', 'got integer -1', 'negative is not a uint')
  t.equal(asInt(-5, 'f', -10, 10), -5)
  refuses(t, () => asInt(11, 'f', -10, 10), 'ERR_DECODE', 'integer in -10..10', 'int range')
  t.equal(asText(text, 'f2', { max: 8 }), 'hi')
  refuses(t, () => asText(id, 'f2'), 'ERR_DECODE', 'expected text at f2, got byte string', 'text type')
  t.equal(asBool(flag, 'f3'), true)
  refuses(t, () => asBool(0, 'f3'), 'ERR_DECODE', 'expected boolean', 'bool type')
  const map = asMap(m, 'f4')
  t.equal(orNull(field(map, 0, 'f4'), v => asUint(v, 'f4.0')), undefined)
  t.equal(orNull(7, v => asUint(v, 'f4.0')), 7)
  refuses(t, () => field(map, 1, 'f4'), 'ERR_DECODE', 'missing field 1 at f4', 'missing field')
  t.equal(onlyKeys(map, [0, 1], 'f4'), map)
  refuses(t, () => onlyKeys(map, [1], 'f4'), 'ERR_DECODE', 'unknown field 0 at f4', 'unknown field')
  refuses(t, () => asMap(undefined, 'f9'), 'ERR_DECODE', 'got nothing', 'absent')
})

// ---- seeded properties ------------------------------------------------------

const seed = Number(process.env.CBOR_SEED ?? 20_251_122)
const forbidden = new Set(['__proto__', 'constructor', 'prototype'])
const int = fc.oneof(fc.integer({ min: -30, max: 300 }), fc.maxSafeInteger(),
  fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER))
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 12 }))
const key = fc.oneof(fc.nat({ max: 70_000 }), fc.maxSafeInteger().map(Math.abs), text.filter(s => !forbidden.has(s)))
const { value } = fc.letrec<{ value: CborValue, array: CborValue[], map: Map<number | string, CborValue> }>(tie => ({
  value: fc.oneof({ maxDepth: cborDepthMax - 1, depthSize: 'small' },
    int, text, fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.constant(null), tie('array'), tie('map')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  map: fc.uniqueArray(fc.tuple(key, tie('value')), { selector: e => e[0], maxLength: 6 }).map(e => new Map(e)),
}))

function check<Ts> (t: Asserts, name: string, prop: fc.IProperty<Ts>, numRuns: number): void {
  const details = fc.check(prop, { seed, numRuns })
  if (details.failed) {
    t.fail(`${name}: ${fc.defaultReportMessage(details) ?? ''}\nreplay: CBOR_SEED=${seed} node test/cbor.test.ts`)
  } else t.pass(`${name}: ${numRuns} runs, seed ${seed}`)
}

t.test('property: decodeStrict(encodeCanonical(v)) is v, and re-encoding is stable', async t => {
  check(t, 'round trip', fc.property(value, v => {
    const bytes = encodeCanonical(v)
    const back = decodeStrict(bytes)
    return same(back, v, false) && toHex(encodeCanonical(back)) === toHex(bytes)
  }), 1500)
})

/** Accepted bytes are canonical (re-encode identically); refused bytes get a typed error. */
function oneFormOrTypedError (bytes: Uint8Array): boolean {
  let v: CborValue
  try { v = decodeStrict(bytes) } catch (e) { return isDdilError(e) && (e.code === 'ERR_DECODE' || e.code === 'ERR_LIMIT') }
  return toHex(encodeCanonical(v)) === toHex(bytes)
}

t.test('property: every accepted input has one byte form; everything else is a typed error', async t => {
  const mutated = fc.tuple(value, fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('set', 'cut', 'insert', 'append')).map(([v, at, byte, how]) => {
    const b = Array.from(encodeCanonical(v))
    const i = at % (b.length + 1)
    if (how === 'set' && i < b.length) b[i] = byte
    if (how === 'cut') b.length = i
    if (how === 'insert') b.splice(i, 0, byte)
    if (how === 'append') b.push(byte)
    return Uint8Array.from(b)
  })
  check(t, 'mutated encodings', fc.property(mutated, oneFormOrTypedError), 3000)
  check(t, 'random bytes', fc.property(fc.uint8Array({ maxLength: 48 }), oneFormOrTypedError), 3000)
})
