// File manifests and chunks (protocol/files, #23): pinned byte vectors, a seeded round-trip
// property over sizes and arrival orders, and the refusals (each fails if its check is removed).
import t from 'tap'
import fc from 'fast-check'
import { concatBytes, fromHex, toHex, utf8 } from '../protocol/bytes.ts'
import { encodeCanonical, type CborValue } from '../protocol/cbor.ts'
import { contentOverheadBytes, contentPayloadBytesMax } from '../protocol/channel/content.ts'
import { signEnvelope } from '../protocol/envelope.ts'
import { DecodeError, LimitError, ProtocolError } from '../protocol/errors.ts'
import { FileAssembly } from '../protocol/files/assemble.ts'
import { chunksRoot, decodeChunk, decodeManifest, encodeChunk, encodeManifest, fileNameProblem, type FileManifest } from '../protocol/files/format.ts'
import { splitFile } from '../protocol/files/split.ts'
import { envelopeBodyBytesMax, envelopeBytesMax, fileChunkBytes, fileChunksMax, fileNameBytesMax, ttlSecondsMax } from '../protocol/limits.ts'
import { aliceKeys, crypto, messageFields } from './helpers/fixtures.ts'
import { prng, testSeed } from './helpers/seed.ts'

const vector = {
  content: 'Levee breach at km 12; crews en route.',
  manifest: 'a8000101696c657665652e747874026a746578742f706c61696e0318260410050306582059d539015a9000c0f0594f57e0c0aa0b4294a24d82bbcd41abb8d4ab36ce2f7007582080753a0bcb707b9793d82f06ce16c31184d131cc843ec8ca249e45ce2fa48425',
  manifestId: '37ed0b0a8673a30cee2dd49ebacbc69d54b6847d71e401513ac4c13f7d143327',
  chunks: [
    '8401582037ed0b0a8673a30cee2dd49ebacbc69d54b6847d71e401513ac4c13f7d14332700504c657665652062726561636820617420',
    '8401582037ed0b0a8673a30cee2dd49ebacbc69d54b6847d71e401513ac4c13f7d14332701506b6d2031323b20637265777320656e20',
    '8401582037ed0b0a8673a30cee2dd49ebacbc69d54b6847d71e401513ac4c13f7d1433270246726f7574652e',
  ],
}

function split (content: Uint8Array, chunkSize?: number, name = 'levee.txt'): ReturnType<typeof splitFile> {
  return splitFile(crypto, { name, mediaType: 'text/plain', content, chunkSize })
}

/** A manifest's CBOR map with fields overridden, bypassing the encoder's checks: what a hostile sender could write. */
function rawManifest (m: FileManifest, overrides: Record<number, CborValue> = {}): Uint8Array {
  const map = new Map<number, CborValue>([[0, 1], [1, m.name], [2, m.mediaType], [3, m.size], [4, m.chunkSize], [5, m.chunkCount], [6, m.sha256], [7, m.chunksRoot]])
  for (const [k, v] of Object.entries(overrides)) map.set(Number(k), v)
  return encodeCanonical(map)
}

t.test('vectors: a 38-byte text in 16-byte chunks has pinned manifest and chunk bytes', async t => {
  const content = utf8(vector.content)
  const f = split(content, 16)
  t.equal(toHex(f.manifestBytes), vector.manifest, 'manifest bytes')
  t.equal(toHex(f.manifestId), vector.manifestId, 'manifest id = SHA-256 of its bytes')
  t.same(f.chunks.map(toHex), vector.chunks, 'chunk bytes')
  const m = decodeManifest(fromHex(vector.manifest))
  t.same(m, { name: 'levee.txt', mediaType: 'text/plain', size: 38, chunkSize: 16, chunkCount: 3, sha256: crypto.sha256(content), chunksRoot: m.chunksRoot })
  t.equal(toHex(encodeManifest(m)), vector.manifest, 'decode then encode gives the same bytes')
  // The root as the header comment defines it, computed by hand.
  const leaf = (d: Uint8Array): Uint8Array => crypto.sha256(concatBytes([new Uint8Array([0]), d]))
  const node = (a: Uint8Array, b: Uint8Array): Uint8Array => crypto.sha256(concatBytes([new Uint8Array([1]), a, b]))
  const parts = [content.subarray(0, 16), content.subarray(16, 32), content.subarray(32)]
  t.same(m.chunksRoot, node(node(leaf(parts[0]), leaf(parts[1])), leaf(parts[2])), 'Merkle root: odd node moves up')
  vector.chunks.forEach((hex, i) => {
    const c = decodeChunk(fromHex(hex))
    t.same(c, { manifestId: fromHex(vector.manifestId), index: i, data: parts[i] })
    t.equal(toHex(encodeChunk(c)), hex)
  })
  const empty = split(new Uint8Array(0))
  t.equal(empty.manifest.chunkCount, 0, 'an empty file has no chunks')
  t.same(empty.manifest.chunksRoot, crypto.sha256(new Uint8Array(0)))
  const a = new FileAssembly(crypto, empty.manifestBytes)
  t.equal(a.state, 'complete', 'and is complete on its manifest alone')
  t.same(a.content(), new Uint8Array(0))
})

t.test('chunk size arithmetic: the largest chunk payload fits a body, the body an envelope', async t => {
  const largest = encodeChunk({ manifestId: new Uint8Array(32), index: fileChunksMax - 1, data: new Uint8Array(fileChunkBytes) })
  t.equal(largest.length - fileChunkBytes, 44, '44 bytes of chunk framing at most')
  t.ok(largest.length <= contentPayloadBytesMax, `${largest.length} ≤ ${contentPayloadBytesMax}`)
  const body = new Uint8Array(largest.length + contentOverheadBytes)
  t.ok(body.length <= envelopeBodyBytesMax, `sealed: ${body.length} ≤ ${envelopeBodyBytesMax}`)
  // Every varint header field near its largest: the envelope still fits.
  const env = signEnvelope(crypto, messageFields({ seq: 2 ** 40, hlc: { ms: 2 ** 47 - 1, c: 0xffff }, ttlSeconds: ttlSecondsMax, epoch: 2 ** 31, body }), aliceKeys.privateKey)
  t.ok(env.bytes.length <= envelopeBytesMax, `envelope ${env.bytes.length} ≤ ${envelopeBytesMax}`)
})

t.test('round trip: any content 0..200 KB, chunks in any order with duplicates, assembles once', async t => {
  const seed = testSeed(t)
  let runs = 0
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 200 * 1024 }), fc.integer(), fc.boolean(), fc.integer({ min: 0, max: 3 }),
    (size, dataSeed, smallChunks, earlyChunks) => {
      runs++
      const rnd = prng(dataSeed)
      const content = rnd.bytes(size)
      const chunkSize = smallChunks ? 1 + rnd.int(fileChunkBytes) : undefined
      const f = split(content, chunkSize, `photo-${size}.bin`)
      if (decodeManifest(f.manifestBytes).size !== size) return false
      // Arrival: a shuffled copy of every chunk plus random duplicates.
      const order = f.chunks.map((_, i) => i)
      for (let i = 0; i < order.length / 4; i++) order.push(rnd.int(f.chunks.length))
      for (let i = order.length - 1; i > 0; i--) { const j = rnd.int(i + 1); [order[i], order[j]] = [order[j], order[i]] }
      // The first few arrive before the manifest: the caller buffers them by manifest id.
      const early = new Map<string, Uint8Array[]>()
      const before = order.slice(0, earlyChunks)
      for (const i of before) {
        const c = decodeChunk(f.chunks[i])
        const key = toHex(c.manifestId)
        early.set(key, [...(early.get(key) ?? []), f.chunks[i]])
      }
      const a = new FileAssembly(crypto, f.manifestBytes)
      let added = 0
      let lastHeld = 0
      for (const payload of [...(early.get(toHex(a.manifestId)) ?? []), ...order.slice(earlyChunks).map(i => f.chunks[i])]) {
        if (a.add(decodeChunk(payload)) === 'added') added++
        if (a.heldBytes < lastHeld) throw new Error('progress went back')
        lastHeld = a.heldBytes
        if (a.state !== 'complete' && a.heldBytes === size && size > 0) throw new Error('all bytes held but not complete')
      }
      return added === f.chunks.length && a.state === 'complete' && a.heldBytes === a.totalBytes &&
        a.totalBytes === size && toHex(a.content()) === toHex(content) && a.missing().length === 0
    }), { seed, numRuns: Number(process.env.DDIL_RUNS ?? 40) })
  t.ok(runs >= 1, `${runs} runs`)
})

t.test('refused: a chunk replayed into another file', async t => {
  const a = split(utf8('first file, first file, first file'), 8)
  const b = split(utf8('other file, other file, other file'), 8)
  const into = new FileAssembly(crypto, b.manifestBytes)
  t.throws(() => into.add(decodeChunk(a.chunks[0])), ProtocolError, 'a chunk naming another manifest')
  t.equal(into.heldChunks, 0, 'nothing held')
  // The same data relabelled with b's id: same length, so it is caught by the root at completion.
  const moved = decodeChunk(a.chunks[0])
  b.chunks.slice(1).forEach(c => into.add(decodeChunk(c)))
  t.throws(() => into.add({ ...moved, manifestId: b.manifestId }), DecodeError, 'relabelled chunk fails the root')
  t.equal(into.state, 'failed')
  t.throws(() => into.content(), ProtocolError, 'no content from a failed file')
  t.throws(() => into.add(decodeChunk(b.chunks[0])), ProtocolError, 'a failed file takes no more chunks')
})

t.test('refused: a bit-flipped chunk never yields content', async t => {
  const f = split(prng(7).bytes(5000))
  const a = new FileAssembly(crypto, f.manifestBytes)
  const flipped = decodeChunk(f.chunks[2])
  flipped.data = flipped.data.slice()
  flipped.data[100] ^= 0x04
  for (let i = 0; i < f.chunks.length; i++) {
    const c = i === 2 ? flipped : decodeChunk(f.chunks[i])
    if (i < f.chunks.length - 1) a.add(c)
    else t.throws(() => a.add(c), DecodeError, 'the last chunk completes the file and the root check fails')
  }
  t.equal(a.state, 'failed')
  t.throws(() => a.content(), ProtocolError)
  // A different copy of an index already held is refused at once.
  const b = new FileAssembly(crypto, f.manifestBytes)
  b.add(decodeChunk(f.chunks[2]))
  t.throws(() => b.add(flipped), DecodeError, 'a second, different chunk 2')
  t.equal(b.add(decodeChunk(f.chunks[2])), 'duplicate')
  // Same root, wrong whole-content hash: the SHA-256 is checked too.
  const m = decodeManifest(f.manifestBytes)
  const wrongSha = encodeManifest({ ...m, sha256: new Uint8Array(32) })
  const c = new FileAssembly(crypto, wrongSha)
  const id = c.manifestId
  t.throws(() => f.chunks.forEach(p => c.add({ ...decodeChunk(p), manifestId: id })), /SHA-256/)
})

t.test('refused: a manifest claiming more (or fewer) chunks than its size allows, bad chunk sizes', async t => {
  const m = split(prng(3).bytes(3000)).manifest // 3 chunks
  t.equal(m.chunkCount, 3)
  t.throws(() => decodeManifest(rawManifest(m, { 5: 4 })), DecodeError, 'more chunks')
  t.throws(() => decodeManifest(rawManifest(m, { 5: 2 })), DecodeError, 'fewer chunks')
  t.throws(() => decodeManifest(rawManifest(m, { 3: fileChunksMax + 1, 4: 1, 5: fileChunksMax + 1 })), LimitError, 'more chunks than any file may have')
  t.throws(() => encodeManifest({ ...m, chunkCount: 4 }), DecodeError, 'the encoder refuses it too')
  t.throws(() => decodeManifest(rawManifest(m, { 4: 0 })), DecodeError, 'zero chunk size')
  t.throws(() => decodeManifest(rawManifest(m, { 4: fileChunkBytes + 1, 5: 3 })), LimitError, 'oversized chunk size')
  t.throws(() => decodeManifest(rawManifest(m, { 0: 2 })), DecodeError, 'unknown version')
  t.throws(() => decodeManifest(rawManifest(m, { 8: 1 })), DecodeError, 'unknown field')
  t.throws(() => decodeManifest(rawManifest(m, { 6: new Uint8Array(31) })), DecodeError, 'short hash')
  t.throws(() => decodeManifest(rawManifest(m, { 2: 'text' })), DecodeError, 'media type without a subtype')
  t.throws(() => decodeManifest(concatBytes([rawManifest(m), new Uint8Array([0])])), DecodeError, 'trailing byte')
  t.throws(() => splitFile(crypto, { name: 'x', mediaType: 'a/b', content: new Uint8Array(0), chunkSize: 0 }), DecodeError, 'split refuses chunk size 0')
})

t.test('refused: an index out of range, a wrong length, malformed chunks', async t => {
  const f = split(prng(5).bytes(2500)) // 3 chunks, the last 228 bytes
  const a = new FileAssembly(crypto, f.manifestBytes)
  t.equal(a.chunkLength(2), 2500 - 2 * fileChunkBytes)
  t.throws(() => a.add({ manifestId: f.manifestId, index: 3, data: new Uint8Array(fileChunkBytes) }), DecodeError, 'index = chunk count (a full-length chunk)')
  t.throws(() => a.add({ manifestId: f.manifestId, index: 2, data: new Uint8Array(229) }), DecodeError, 'last chunk one byte long')
  t.throws(() => a.add({ manifestId: f.manifestId, index: 0, data: new Uint8Array(fileChunkBytes - 1) }), DecodeError, 'short middle chunk')
  t.equal(a.heldChunks, 0)
  t.same(a.missing(), [0, 1, 2])
  const id = f.manifestId
  t.throws(() => decodeChunk(encodeCanonical([1, id, fileChunksMax, new Uint8Array(1)])), DecodeError, 'index past any file')
  t.throws(() => decodeChunk(encodeCanonical([1, id, 0, new Uint8Array(0)])), DecodeError, 'empty chunk')
  t.throws(() => decodeChunk(encodeCanonical([1, id, 0, new Uint8Array(fileChunkBytes + 1)])), LimitError, 'oversized chunk')
  t.throws(() => decodeChunk(encodeCanonical([1, id.subarray(1), 0, new Uint8Array(1)])), DecodeError, 'short manifest id')
  t.throws(() => decodeChunk(encodeCanonical([2, id, 0, new Uint8Array(1)])), DecodeError, 'unknown version')
  t.throws(() => decodeChunk(encodeCanonical([1, id, 0, new Uint8Array(1), 0])), DecodeError, 'extra item')
  t.throws(() => decodeChunk(fromHex('8401582037ed0b0a8673a30cee2dd49ebacbc69d54b6847d71e401513ac4c13f7d14332718004100')), DecodeError, 'non-canonical index')
})

t.test('refused: an oversized or unsafe file name', async t => {
  const m = split(utf8('x')).manifest
  const long = 'a'.repeat(fileNameBytesMax + 1)
  t.throws(() => decodeManifest(rawManifest(m, { 1: long })), LimitError, `${fileNameBytesMax + 1} bytes`)
  t.throws(() => decodeManifest(rawManifest(m, { 1: 'é'.repeat(128) })), LimitError, '128 characters, 256 bytes of UTF-8')
  t.equal(decodeManifest(rawManifest(m, { 1: 'a'.repeat(fileNameBytesMax) })).name.length, fileNameBytesMax, 'exactly the limit passes')
  t.throws(() => split(utf8('x'), undefined, long), LimitError, 'split refuses it too')
  for (const bad of ['', '.', '..', '../etc/passwd', 'a\\b', 'a\nb', 'evil\u202etxt.exe', '\ud800']) {
    t.throws(() => decodeManifest(rawManifest(m, { 1: bad })), DecodeError, JSON.stringify(bad))
    t.ok(fileNameProblem(bad), `problem named for ${JSON.stringify(bad)}`)
  }
  t.equal(fileNameProblem('Einsatzplan Süd.pdf'), undefined)
})
