// Air-gap bundle file (#27): pinned vectors both ways for version 2, version 1 files still read
// (holding nothing known), and the bad-bundle cases (truncated, corrupted, oversized, forged, not a
// bundle, trailing bytes, a holds list unsorted, too long or cut short), each refused with its own
// error code before anything could be stored. Removing a check makes its case fail.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { crypto, aliceKeys, bobKeys } from './helpers/fixtures.ts'
import { allPrecedences, bundleMagic, decodeBundle, encodeBundle, type Bundle } from '../protocol/bundle/format.ts'
import { bytesEqual, concatBytes, fromHex, toHex } from '../protocol/bytes.ts'
import { bundleBytesMax, bundleChannelsMax, bundleEnvelopesMax, bundleHoldsMax, envelopeBytesMax } from '../protocol/limits.ts'
import { packShortIds } from '../protocol/bundle/holds.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/bundle.json', import.meta.url), 'utf8')) as {
  signerSeed: string
  vectors: Array<{ version: number, name: string, nodeId: string, createdMs: number, channels: string[], precedences: number, sinceMs: number, envelopes: string[], holds: string[], bytes: string }>
}

const sample: Bundle = {
  nodeId: 'relay-a', publicKey: aliceKeys.publicKey, createdMs: 1_780_000_000_000,
  scope: { channels: [fromHex('0102030405060708')], precedences: allPrecedences, sinceMs: 0 },
  envelopes: [new Uint8Array(200).fill(7), new Uint8Array(envelopeBytesMax).fill(9)],
  holds: packShortIds([new Uint8Array(32).fill(3), new Uint8Array(32).fill(1)]),
}
/** The sample with no envelopes and no holds: its body ends with the envelope count, then the holds count. */
const empty: Bundle = { ...sample, envelopes: [], holds: new Uint8Array(0) }
const encode = (b: Bundle): Uint8Array => encodeBundle(b, crypto, aliceKeys.privateKey)
const decode = (b: Uint8Array) => decodeBundle(b, crypto)

/** `body` (everything before the checksum) with a fresh checksum and a signature by `key`: a well-sealed file around any body. */
function seal (body: Uint8Array, key = aliceKeys.privateKey): Uint8Array {
  const summed = concatBytes([body, crypto.sha256(body)])
  return concatBytes([summed, crypto.ed25519Sign(key, concatBytes([new TextEncoder().encode('ddil/v1/bundle\n'), summed]))])
}
const bodyOf = (file: Uint8Array): Uint8Array => file.slice(0, file.length - 96)

t.test('pinned vectors: fixed key and fields give fixed bytes, and decode back; version 1 is still read', async t => {
  t.equal(toHex(crypto.ed25519KeyPair(fromHex(vectors.signerSeed)).publicKey), toHex(aliceKeys.publicKey))
  t.same(new Set(vectors.vectors.map(v => v.version)), new Set([1, 2]))
  for (const v of vectors.vectors) {
    const b: Bundle = { nodeId: v.nodeId, publicKey: aliceKeys.publicKey, createdMs: v.createdMs, scope: { channels: v.channels.map(fromHex), precedences: v.precedences, sinceMs: v.sinceMs }, envelopes: v.envelopes.map(fromHex), holds: concatBytes(v.holds.map(fromHex)) }
    t.equal(fromHex(v.bytes)[bundleMagic.length], v.version, `${v.name}: version byte`)
    // Version 1 files were written by #27's first release: read, never written again.
    if (v.version === 2) t.equal(toHex(encode(b)), v.bytes, `${v.name}: bytes`)
    const back = decode(fromHex(v.bytes))
    t.same({ ...back, fileHash: undefined }, { ...b, fileHash: undefined }, `${v.name}: decodes to its fields`)
    t.equal(toHex(back.fileHash), toHex(crypto.sha256(fromHex(v.bytes))), `${v.name}: file hash`)
  }
})

t.test('round trip at the limits', async t => {
  const many: Bundle = { ...sample, scope: { ...sample.scope, channels: Array.from({ length: bundleChannelsMax }, (_, i) => new Uint8Array(8).fill(i)) } }
  t.same(decode(encode(many)).scope.channels.length, bundleChannelsMax)
  t.same(decode(encode(sample)).envelopes, sample.envelopes)
  t.same(decode(encode(sample)).holds, sample.holds)
  const full = new Uint8Array(bundleHoldsMax * 8)
  const view = new DataView(full.buffer)
  for (let i = 0; i < bundleHoldsMax; i++) view.setUint32(i * 8 + 4, i)
  t.ok(bytesEqual(decode(encode({ ...empty, holds: full })).holds, full), 'a full holds list round-trips')
  t.throws(() => encode({ ...empty, holds: concatBytes([full, new Uint8Array(8).fill(0xff)]) }), { code: 'ERR_LIMIT' }, 'one more is refused')
})

t.test('packShortIds: first 8 bytes, ascending, once each; past its limit the greatest go', async t => {
  const id = (first: number): Uint8Array => { const b = new Uint8Array(32).fill(first); b[31] = 0; return b }
  t.equal(toHex(packShortIds([id(3), id(1), id(3), id(2)])), '0101010101010101' + '0202020202020202' + '0303030303030303')
  t.equal(toHex(packShortIds([id(3), id(1), id(2)], 2)), '0101010101010101' + '0202020202020202')
})

t.test('holds: unsorted, duplicated, too many or cut short are refused', async t => {
  const [low, high] = [new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)]
  const body = (holds: Uint8Array, count = holds.length / 8): Uint8Array => {
    const b = bodyOf(encode(empty)) // ends with holds count 0
    new DataView(b.buffer).setUint32(b.length - 4, count)
    return concatBytes([b, holds])
  }
  t.ok(decode(seal(body(concatBytes([low, high])))), 'ascending: read')
  t.throws(() => decode(seal(body(concatBytes([high, low])))), { code: 'ERR_DECODE', message: /not strictly ascending at entry 2/ }, 'descending')
  t.throws(() => decode(seal(body(concatBytes([low, low])))), { code: 'ERR_DECODE', message: /not strictly ascending/ }, 'a duplicate')
  t.throws(() => decode(seal(body(new Uint8Array(0), bundleHoldsMax + 1))), { code: 'ERR_LIMIT', message: /declares 1048577 held envelopes/ }, 'count over bundleHoldsMax, before any allocation')
  t.throws(() => decode(seal(body(low, 2))), { code: 'ERR_DECODE', message: /truncated: holds list runs past its end/ }, 'a count larger than what follows')
  t.throws(() => decode(seal(body(concatBytes([low, high]).subarray(0, 12), 1))), { code: 'ERR_DECODE', message: /4 unexpected bytes after its holds list/ }, 'a partial id after the list')
  t.throws(() => decode(seal(bodyOf(encode(empty)).subarray(0, -2))), { code: 'ERR_DECODE', message: /truncated: holds count/ }, 'the holds count cut short')
  t.throws(() => encode({ ...empty, holds: concatBytes([high, low]) }), { code: 'ERR_DECODE' }, 'the encoder refuses what the decoder would')
  t.throws(() => encode({ ...empty, holds: new Uint8Array(12) }), { code: 'ERR_DECODE' }, 'nor a partial id')
})

t.test('truncated: every shorter prefix is refused (ERR_DECODE), never read', async t => {
  const file = encode(sample)
  for (const n of [0, 5, 9, 100, file.length - 97, file.length - 64, file.length - 1]) {
    t.throws(() => decode(file.subarray(0, n)), { code: 'ERR_DECODE' }, `${n} of ${file.length} bytes`)
  }
  t.throws(() => decode(file.subarray(0, file.length - 1)), /checksum does not match|truncated/)
})

t.test('corrupted: one flipped bit anywhere in the body fails the checksum (ERR_DECODE)', async t => {
  const file = encode(sample)
  for (const at of [9, 20, 60, 100, 400, file.length - 97]) {
    const bad = file.slice(); bad[at] ^= 0x10
    t.throws(() => decode(bad), { code: 'ERR_DECODE', message: /checksum does not match/ }, `bit flipped at ${at}`)
  }
})

t.test('forged: a bad signature, another key, or an altered and re-summed body (ERR_SIGNATURE)', async t => {
  const file = encode(sample)
  const badSig = file.slice(); badSig[file.length - 1] ^= 1
  t.throws(() => decode(badSig), { code: 'ERR_SIGNATURE', message: /signature does not verify for the key of node relay-a/ })
  t.throws(() => decode(seal(bodyOf(file), bobKeys.privateKey)), { code: 'ERR_SIGNATURE' }, 'signed by a key other than the one it names')
  const altered = bodyOf(file); altered[altered.length - 1] ^= 1 // inside the last envelope
  t.throws(() => decode(concatBytes([altered, crypto.sha256(altered), file.subarray(file.length - 64)])), { code: 'ERR_SIGNATURE' }, 'checksum recomputed, signature kept')
})

t.test('oversized: file, declared count, envelope length and channel count over the limits (ERR_LIMIT)', async t => {
  t.throws(() => decode(new Uint8Array(bundleBytesMax + 1)), { code: 'ERR_LIMIT' }, 'file over bundleBytesMax, refused before any hashing')
  const body = bodyOf(encode(empty))
  const countAt = body.length - 8 // the envelope count, then the holds count
  const lying = body.slice(); new DataView(lying.buffer).setUint32(countAt, bundleEnvelopesMax + 1)
  t.throws(() => decode(seal(lying)), { code: 'ERR_LIMIT', message: /declares 65537 envelopes/ }, 'count over bundleEnvelopesMax, before any allocation')
  const oneBig = concatBytes([body.slice(0, countAt), new Uint8Array([0, 0, 0, 1, 0x05, 0xdd]), new Uint8Array(envelopeBytesMax + 1), new Uint8Array(4)])
  t.throws(() => decode(seal(oneBig)), { code: 'ERR_LIMIT', message: /envelope 1 is 1501 bytes/ })
  const channelsAt = 8 + 1 + 1 + 7 + 32 + 8
  const tooManyChannels = body.slice(); new DataView(tooManyChannels.buffer).setUint16(channelsAt, bundleChannelsMax + 1)
  t.throws(() => decode(seal(tooManyChannels)), { code: 'ERR_LIMIT' })
  t.throws(() => encode({ ...sample, envelopes: [new Uint8Array(envelopeBytesMax + 1)] }), { code: 'ERR_LIMIT' }, 'the encoder refuses what the decoder would')
})

t.test('not a bundle, another version, a lying count, trailing bytes (ERR_DECODE)', async t => {
  const file = encode(sample)
  t.throws(() => decode(new TextEncoder().encode('hello, this is a text file and not a bundle at all, padded out to some length'.repeat(3))), { code: 'ERR_DECODE', message: /not a ddil bundle/ })
  const v3 = bodyOf(file); v3[bundleMagic.length] = 3
  t.throws(() => decode(seal(v3)), { code: 'ERR_DECODE', message: /version 3 is not supported \(this relay reads versions 1 and 2\)/ })
  const trailing = concatBytes([bodyOf(file), new Uint8Array([0])])
  t.throws(() => decode(seal(trailing)), { code: 'ERR_DECODE', message: /unexpected bytes after its holds list/ })
  const asVersion1 = bodyOf(file); asVersion1[bundleMagic.length] = 1
  t.throws(() => decode(seal(asVersion1)), { code: 'ERR_DECODE', message: /unexpected bytes after its last envelope/ }, 'a version 1 file has no holds section')
  const body = bodyOf(encode(empty)).subarray(0, -4) // up to the envelope count, as in version 1
  const short = body.slice(); new DataView(short.buffer).setUint32(body.length - 4, 3)
  t.throws(() => decode(seal(short)), { code: 'ERR_DECODE', message: /truncated: envelope 1's length/ }, 'a count larger than what follows')
  const noPrecedence = body.slice(); noPrecedence[body.length - 4 - 8 - 1] = 0
  t.throws(() => decode(seal(noPrecedence)), { code: 'ERR_DECODE', message: /precedence mask 0/ })
})
