// Air-gap bundle file v1 (#27): pinned vectors both ways, and the bad-bundle cases (truncated,
// corrupted, oversized, forged, not a bundle, trailing bytes), each refused with its own error
// code before anything could be stored. Removing a check makes its case fail.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { crypto, aliceKeys, bobKeys } from './helpers/fixtures.ts'
import { allPrecedences, bundleMagic, decodeBundle, encodeBundle, type Bundle } from '../protocol/bundle/format.ts'
import { concatBytes, fromHex, toHex } from '../protocol/bytes.ts'
import { bundleBytesMax, bundleChannelsMax, bundleEnvelopesMax, envelopeBytesMax } from '../protocol/limits.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/bundle.json', import.meta.url), 'utf8')) as {
  signerSeed: string
  vectors: Array<{ name: string, nodeId: string, createdMs: number, channels: string[], precedences: number, sinceMs: number, envelopes: string[], bytes: string }>
}

const sample: Bundle = {
  nodeId: 'relay-a', publicKey: aliceKeys.publicKey, createdMs: 1_780_000_000_000,
  scope: { channels: [fromHex('0102030405060708')], precedences: allPrecedences, sinceMs: 0 },
  envelopes: [new Uint8Array(200).fill(7), new Uint8Array(envelopeBytesMax).fill(9)],
}
const encode = (b: Bundle): Uint8Array => encodeBundle(b, crypto, aliceKeys.privateKey)
const decode = (b: Uint8Array) => decodeBundle(b, crypto)

/** `body` (everything before the checksum) with a fresh checksum and a signature by `key`: a well-sealed file around any body. */
function seal (body: Uint8Array, key = aliceKeys.privateKey): Uint8Array {
  const summed = concatBytes([body, crypto.sha256(body)])
  return concatBytes([summed, crypto.ed25519Sign(key, concatBytes([new TextEncoder().encode('ddil/v1/bundle\n'), summed]))])
}
const bodyOf = (file: Uint8Array): Uint8Array => file.slice(0, file.length - 96)

t.test('pinned vectors: fixed key and fields give fixed bytes, and decode back', async t => {
  t.equal(toHex(crypto.ed25519KeyPair(fromHex(vectors.signerSeed)).publicKey), toHex(aliceKeys.publicKey))
  for (const v of vectors.vectors) {
    const b: Bundle = { nodeId: v.nodeId, publicKey: aliceKeys.publicKey, createdMs: v.createdMs, scope: { channels: v.channels.map(fromHex), precedences: v.precedences, sinceMs: v.sinceMs }, envelopes: v.envelopes.map(fromHex) }
    t.equal(toHex(encode(b)), v.bytes, `${v.name}: bytes`)
    const back = decode(fromHex(v.bytes))
    t.same({ ...back, fileHash: undefined }, { ...b, fileHash: undefined }, `${v.name}: decodes to its fields`)
    t.equal(toHex(back.fileHash), toHex(crypto.sha256(fromHex(v.bytes))), `${v.name}: file hash`)
  }
})

t.test('round trip at the limits', async t => {
  const many: Bundle = { ...sample, scope: { ...sample.scope, channels: Array.from({ length: bundleChannelsMax }, (_, i) => new Uint8Array(8).fill(i)) } }
  t.same(decode(encode(many)).scope.channels.length, bundleChannelsMax)
  t.same(decode(encode(sample)).envelopes, sample.envelopes)
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
  const body = bodyOf(encode({ ...sample, envelopes: [] }))
  const countAt = body.length - 4
  const lying = body.slice(); new DataView(lying.buffer).setUint32(countAt, bundleEnvelopesMax + 1)
  t.throws(() => decode(seal(lying)), { code: 'ERR_LIMIT', message: /declares 65537 envelopes/ }, 'count over bundleEnvelopesMax, before any allocation')
  const oneBig = concatBytes([body.slice(0, countAt), new Uint8Array([0, 0, 0, 1, 0x05, 0xdd]), new Uint8Array(envelopeBytesMax + 1)])
  t.throws(() => decode(seal(oneBig)), { code: 'ERR_LIMIT', message: /envelope 1 is 1501 bytes/ })
  const channelsAt = 8 + 1 + 1 + 7 + 32 + 8
  const tooManyChannels = body.slice(); new DataView(tooManyChannels.buffer).setUint16(channelsAt, bundleChannelsMax + 1)
  t.throws(() => decode(seal(tooManyChannels)), { code: 'ERR_LIMIT' })
  t.throws(() => encode({ ...sample, envelopes: [new Uint8Array(envelopeBytesMax + 1)] }), { code: 'ERR_LIMIT' }, 'the encoder refuses what the decoder would')
})

t.test('not a bundle, another version, a lying count, trailing bytes (ERR_DECODE)', async t => {
  const file = encode(sample)
  t.throws(() => decode(new TextEncoder().encode('hello, this is a text file and not a bundle at all, padded out to some length'.repeat(3))), { code: 'ERR_DECODE', message: /not a ddil bundle/ })
  const v2 = bodyOf(file); v2[bundleMagic.length] = 2
  t.throws(() => decode(seal(v2)), { code: 'ERR_DECODE', message: /version 2 is not supported/ })
  const trailing = concatBytes([bodyOf(file), new Uint8Array([0])])
  t.throws(() => decode(seal(trailing)), { code: 'ERR_DECODE', message: /unexpected bytes after its last envelope/ })
  const body = bodyOf(encode({ ...sample, envelopes: [] }))
  const short = body.slice(); new DataView(short.buffer).setUint32(body.length - 4, 3)
  t.throws(() => decode(seal(short)), { code: 'ERR_DECODE', message: /truncated: envelope 1's length/ }, 'a count larger than what follows')
  const noPrecedence = body.slice(); noPrecedence[body.length - 4 - 8 - 1] = 0
  t.throws(() => decode(seal(noPrecedence)), { code: 'ERR_DECODE', message: /precedence mask 0/ })
})
