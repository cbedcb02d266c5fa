// Link frames: pinned vectors both ways, and strict rejection of junk (brief §7 input cases at the frame layer).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { decodeFrame, encodeFrame, FrameType, type Frame } from '../protocol/frames.ts'
import { fromHex, toHex, concatBytes } from '../protocol/bytes.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { frameBytesMax, helloCredentialsBytesMax, idListItemsMax, envelopeBytesMax } from '../protocol/limits.ts'

const fromJson = (v: unknown): any => JSON.parse(JSON.stringify(v), (_k, x) => x !== null && typeof x === 'object' && 'hex' in x ? fromHex(x.hex) : x)
const vectors = JSON.parse(readFileSync(new URL('./vectors/frames.json', import.meta.url), 'utf8')) as { vectors: Array<{ name: string, frame: unknown, bytes: string }> }

t.test('pinned vectors: encode and decode', async t => {
  t.ok(vectors.vectors.length >= 10)
  for (const v of vectors.vectors) {
    const frame = fromJson(v.frame) as Frame
    t.equal(toHex(encodeFrame(frame)), v.bytes, `${v.name}: encode`)
    t.same(decodeFrame(fromHex(v.bytes)), frame, `${v.name}: decode`)
  }
})

const withType = (type: number, payload: Uint8Array): Uint8Array => concatBytes([Uint8Array.of(type), payload])
const ids = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i % 256))

t.test('junk frames give typed errors', async t => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['empty', new Uint8Array(0), 'ERR_DECODE'],
    ['unknown type', Uint8Array.of(99, 0x80), 'ERR_DECODE'],
    ['oversized frame', new Uint8Array(frameBytesMax + 1), 'ERR_LIMIT'],
    ['oversized envelope', withType(FrameType.envelope, new Uint8Array(envelopeBytesMax + 1)), 'ERR_LIMIT'],
    ['hello with trailing bytes', concatBytes([withType(FrameType.hello, encodeCanonical([1, 1, 4096, 0])), Uint8Array.of(0)]), 'ERR_DECODE'],
    ['hello with tiny frame limit', withType(FrameType.hello, encodeCanonical([1, 1, 100, 0])), 'ERR_DECODE'],
    ['hello without a clock', withType(FrameType.hello, encodeCanonical([1, 1, 4096])), 'ERR_DECODE'],
    ['hello min above max', withType(FrameType.hello, encodeCanonical([2, 1, 4096, 0])), 'ERR_DECODE'],
    ['hello with empty credentials', withType(FrameType.hello, encodeCanonical([1, 1, 4096, 0, new Uint8Array(0)])), 'ERR_DECODE'],
    ['hello with oversized credentials', withType(FrameType.hello, encodeCanonical([1, 1, 4096, 0, new Uint8Array(helloCredentialsBytesMax + 1)])), 'ERR_DECODE'],
    ['hello with credentials as text', withType(FrameType.hello, encodeCanonical([1, 1, 4096, 0, 'cert'])), 'ERR_DECODE'],
    ['refused with a reason as bytes', withType(FrameType.refused, encodeCanonical(['ERR_POLICY', [new Uint8Array(32)], new Uint8Array(4)])), 'ERR_DECODE'],
    ['refused with a reason over 200 characters', withType(FrameType.refused, encodeCanonical(['ERR_POLICY', [new Uint8Array(32)], 'x'.repeat(201)])), 'ERR_DECODE'],
    ['refused with four items', withType(FrameType.refused, encodeCanonical(['ERR_POLICY', [new Uint8Array(32)], 'why', 'more'])), 'ERR_DECODE'],
    ['hello with six items', withType(FrameType.hello, encodeCanonical([1, 1, 4096, 0, new Uint8Array(1), 0])), 'ERR_DECODE'],
    ['want with a 31-byte id', withType(FrameType.want, encodeCanonical([[new Uint8Array(31)]])), 'ERR_DECODE'],
    ['want with wrong arity', withType(FrameType.want, encodeCanonical([[], 1])), 'ERR_DECODE'],
    ['over-limit id list', withType(FrameType.want, encodeCanonical([ids(idListItemsMax + 1)])), 'ERR_LIMIT'],
    // declares 2^32 ids in a few bytes: refused before allocation
    ['huge declared id list', withType(FrameType.have, Uint8Array.of(0x81, 0x9a, 0xff, 0xff, 0xff, 0xff)), 'ERR_LIMIT'],
    ['tagged payload', withType(FrameType.want, Uint8Array.of(0xd8, 0x40, 0x81, 0x80)), 'ERR_DECODE'],
    ['wantSeq range too wide', withType(FrameType.wantSeq, encodeCanonical([new Uint8Array(8), new Uint8Array(8), 1, 1 + idListItemsMax])), 'ERR_LIMIT'],
    ['wantSeq reversed', withType(FrameType.wantSeq, encodeCanonical([new Uint8Array(8), new Uint8Array(8), 5, 4])), 'ERR_DECODE'],
    ['prune with a short author', withType(FrameType.prune, encodeCanonical([new Uint8Array(7)])), 'ERR_DECODE'],
    ['graft with two authors', withType(FrameType.graft, encodeCanonical([new Uint8Array(8), new Uint8Array(8)])), 'ERR_DECODE'],
    ['neighbour with a long ref', withType(FrameType.neighbours, encodeCanonical([[[new Uint8Array(9), 1]]])), 'ERR_DECODE'],
    ['too many neighbours', withType(FrameType.neighbours, encodeCanonical([Array.from({ length: 257 }, () => [new Uint8Array(8), 1])])), 'ERR_LIMIT'],
    ['bye with a long reason', withType(FrameType.bye, encodeCanonical(['x', 'y'.repeat(500)])), 'ERR_DECODE'],
  ]
  for (const [name, bytes, code] of cases) t.throws(() => decodeFrame(bytes), { code }, name)
})

t.test('encoder refuses over-limit frames', async t => {
  t.throws(() => encodeFrame({ type: FrameType.have, ids: ids(idListItemsMax + 1) }), { code: 'ERR_LIMIT' })
  t.throws(() => encodeFrame({ type: FrameType.reconcile, session: 1, payload: new Uint8Array(frameBytesMax) }), { code: 'ERR_LIMIT' })
  const full = encodeFrame({ type: FrameType.have, ids: ids(idListItemsMax) })
  t.equal(decodeFrame(full).type, FrameType.have, 'a full id list fits in a frame')
})
