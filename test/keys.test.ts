/**
 * Tuple keys: pinned vectors (test/vectors/keys.json), encoder refusals, and seeded
 * properties: round trip, canonical decoding, bytewise order equals tuple order, and
 * prefixRange holding exactly the extensions of its prefix.
 *
 * Replay a property failure: DDIL_SEED=<seed> npx tap test/keys.test.ts
 */
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { compareBytes, decodeKey, encodeKey, prefixRange, type KeyPart } from '../protocol/keys.ts'
import { testSeed } from './helpers/seed.ts'

type JsonPart = { int: number } | { str: string } | { bytes: string }
interface Vectors {
  accept: Array<{ name: string, parts: JsonPart[], hex: string }>
  reject: Array<{ name: string, hex: string, why: string }>
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/keys.json', import.meta.url), 'utf8')) as Vectors
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fromJson = (p: JsonPart): KeyPart => 'int' in p ? p.int : 'str' in p ? p.str : fromHex(p.bytes)

const seed = testSeed(t)
const runs = { seed, numRuns: 300 }

t.test('pinned vectors encode and decode both ways', async t => {
  t.ok(vectors.accept.length >= 15 && vectors.reject.length >= 10)
  for (const v of vectors.accept) {
    const parts = v.parts.map(fromJson)
    t.equal(toHex(encodeKey(parts)), v.hex, `encode ${v.name}`)
    t.same(decodeKey(fromHex(v.hex)), parts, `decode ${v.name}`)
  }
  for (const v of vectors.reject) {
    t.throws(() => decodeKey(fromHex(v.hex)), { name: 'DecodeError', code: 'ERR_DECODE', message: new RegExp(v.why.replace(/[\^$]/g, '\\$&')) }, v.name)
  }
})

t.test('hand-ordered tuples keep their order when sorted bytewise', async t => {
  // A few tuples whose order is known by hand: bytes < strings < integers, then by value.
  const ordered: KeyPart[][] = [
    [], [Uint8Array.of()], [Uint8Array.of(0)], [Uint8Array.of(0), 0], [Uint8Array.of(0, 0)], [Uint8Array.of(1)],
    [''], ['', 0], ['\u0000'], ['a'], ['a', 'b'], ['a\u0000'], ['a\u0001'], ['b'], ['\uffff'], ['\u{1f600}'],
    [0], [0, 0], [1], [255], [256], [65535], [2 ** 32], [Number.MAX_SAFE_INTEGER],
  ]
  const encoded = ordered.map(p => encodeKey(p))
  t.same(encoded.toSorted(compareBytes).map(k => decodeKey(k)), ordered)
})

t.test('encodeKey refuses parts outside KeyPart', async t => {
  const bad: unknown[] = [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity, '\ud800', 'a\udc00b', true, null, {}, [1], 10n]
  for (const part of bad) {
    t.throws(() => encodeKey([part as KeyPart]), { name: 'StorageError', code: 'ERR_STORAGE' }, String(part))
  }
  t.throws(() => decodeKey('20' as unknown as Uint8Array), { code: 'ERR_DECODE' }, 'decodeKey of a non-Uint8Array')
})

t.test('prefixRange is [prefix, prefix‖FF)', async t => {
  t.same(prefixRange(['a', 1]), { gte: fromHex('0261002101'), lt: fromHex('0261002101ff') })
  t.same(prefixRange([]), { gte: fromHex(''), lt: fromHex('ff') })
})

// Small alphabets so that generated tuples share prefixes and hit the 0x00 / 0xFF edges.
const part: fc.Arbitrary<KeyPart> = fc.oneof(
  fc.oneof(fc.constantFrom(0, 1, 255, 256, 65535, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.nat(), fc.maxSafeNat()),
  fc.array(fc.constantFrom('', 'a', 'b', '\u0000', '\u00e9', '\uffff', '\u{1f600}', '\u{10ffff}'), { maxLength: 4 }).map(a => a.join('')),
  fc.uint8Array({ maxLength: 4 }).map(b => b.map(x => [0, 1, 0x7f, 0x80, 0xfe, 0xff][x % 6])),
)
const tuple = fc.array(part, { maxLength: 4 })

/** The tuple order, written independently of the encoding: by type, then value, shorter first. */
function compareParts (a: KeyPart, b: KeyPart): number {
  const rank = (p: KeyPart): number => p instanceof Uint8Array ? 0 : typeof p === 'string' ? 1 : 2
  if (rank(a) !== rank(b)) return rank(a) - rank(b)
  if (typeof a === 'number') return a - (b as number)
  if (typeof a === 'string') {
    const [x, y] = [[...a].map(c => c.codePointAt(0) as number), [...(b as string)].map(c => c.codePointAt(0) as number)]
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i]
    return x.length - y.length
  }
  const [x, y] = [a as Uint8Array, b as Uint8Array]
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i]
  return x.length - y.length
}
function compareTuples (a: KeyPart[], b: KeyPart[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareParts(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length - b.length
}
const sign = (n: number): number => Math.sign(n)

t.test(`property: decode(encode(t)) = t (seed ${seed})`, async t => {
  fc.assert(fc.property(tuple, parts => isDeepStrictEqual(decodeKey(encodeKey(parts)), parts)), runs)
  t.pass('round trips')
})

t.test(`property: bytewise order of encoded keys equals tuple order (seed ${seed})`, async t => {
  fc.assert(fc.property(tuple, tuple, (a, b) => {
    return sign(compareBytes(encodeKey(a), encodeKey(b))) === sign(compareTuples(a, b))
  }), { ...runs, numRuns: 3000 })
  fc.assert(fc.property(fc.array(tuple, { maxLength: 30 }), tuples => {
    const byBytes = tuples.map(p => encodeKey(p)).sort(compareBytes).map(toHex)
    const byTuple = tuples.toSorted(compareTuples).map(p => toHex(encodeKey(p)))
    return byBytes.join() === byTuple.join()
  }), runs)
  t.pass('orders agree')
})

t.test(`property: prefixRange holds exactly the extensions of the prefix (seed ${seed})`, async t => {
  fc.assert(fc.property(tuple, tuple, (prefix, rest) => {
    const { gte, lt } = prefixRange(prefix)
    const inside = (k: Uint8Array): boolean => compareBytes(k, gte) >= 0 && compareBytes(k, lt) < 0
    return inside(encodeKey([...prefix, ...rest]))
  }), runs)
  fc.assert(fc.property(tuple, tuple, (prefix, other) => {
    const { gte, lt } = prefixRange(prefix)
    const k = encodeKey(other)
    const isExtension = other.length >= prefix.length && compareTuples(other.slice(0, prefix.length), prefix) === 0
    return (compareBytes(k, gte) >= 0 && compareBytes(k, lt) < 0) === isExtension
  }), { ...runs, numRuns: 3000 })
  t.pass('ranges agree')
})

t.test(`property: decodeKey of arbitrary bytes is canonical or a DecodeError (seed ${seed})`, async t => {
  const bytes = fc.uint8Array({ maxLength: 24 }).map(b => b.map(x => [0, 1, 2, 0x20, 0x21, 0x22, 0x27, 0x28, 0x61, 0xc3, 0xa9, 0xff][x % 12]))
  fc.assert(fc.property(bytes, raw => {
    let parts: KeyPart[]
    try {
      parts = decodeKey(raw)
    } catch (e) {
      return (e as { code?: string }).code === 'ERR_DECODE'
    }
    return toHex(encodeKey(parts)) === toHex(raw)
  }), { ...runs, numRuns: 5000 })
  t.pass('no junk decodes')
})
