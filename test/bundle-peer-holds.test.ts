// What other relays told this one they hold (#27): the peer holds file's pinned vectors and strict
// decoding, and the store in a data directory: the newest list by bundle creation time is kept, an
// older one imported later is ignored, a restart reads it back, a damaged file is a clear error.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crypto } from './helpers/fixtures.ts'
import { decodePeerHolds, encodePeerHolds, packShortIds } from '../protocol/bundle/holds.ts'
import { concatBytes, fromHex, toHex } from '../protocol/bytes.ts'
import { bundleHoldsMax } from '../protocol/limits.ts'
import { createPeerHolds } from '../node/peer-holds.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/peer-holds.json', import.meta.url), 'utf8')) as {
  vectors: Array<{ name: string, nodeId: string, createdMs: number, holds: string[], bytes: string }>
}

t.test('pinned vectors both ways', async t => {
  for (const v of vectors.vectors) {
    const p = { nodeId: v.nodeId, createdMs: v.createdMs, holds: concatBytes(v.holds.map(fromHex)) }
    t.equal(toHex(encodePeerHolds(p, crypto)), v.bytes, `${v.name}: bytes`)
    t.same(decodePeerHolds(fromHex(v.bytes), crypto), p, `${v.name}: decodes to its fields`)
  }
})

t.test('strict decoding', async t => {
  const file = fromHex(vectors.vectors[0].bytes)
  const resummed = (body: Uint8Array): Uint8Array => concatBytes([body, crypto.sha256(body)])
  const body = file.slice(0, -32)
  t.throws(() => decodePeerHolds(file.subarray(0, file.length - 1), crypto), { code: 'ERR_DECODE', message: /checksum does not match/ }, 'truncated')
  const flipped = file.slice(); flipped[20] ^= 1
  t.throws(() => decodePeerHolds(flipped, crypto), { code: 'ERR_DECODE', message: /checksum does not match/ }, 'corrupted')
  const v2 = body.slice(); v2[8] = 2
  t.throws(() => decodePeerHolds(resummed(v2), crypto), { code: 'ERR_DECODE', message: /version 2 is not supported/ })
  t.throws(() => decodePeerHolds(new TextEncoder().encode('x'.repeat(64)), crypto), { code: 'ERR_DECODE', message: /not a peer holds file/ })
  const unsorted = concatBytes([body.slice(0, -24), body.slice(-16, -8), body.slice(-24, -16), body.slice(-8)])
  t.throws(() => decodePeerHolds(resummed(unsorted), crypto), { code: 'ERR_DECODE', message: /not strictly ascending/ })
  const tooMany = body.slice(0, -24); new DataView(tooMany.buffer).setUint32(tooMany.length - 4, bundleHoldsMax + 1)
  t.throws(() => decodePeerHolds(resummed(tooMany), crypto), { code: 'ERR_LIMIT' })
  t.throws(() => decodePeerHolds(resummed(concatBytes([body, new Uint8Array(1)])), crypto), { code: 'ERR_DECODE', message: /1 unexpected bytes after its holds list/ })
})

t.test('the store keeps the newest list per node, across a restart', async t => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ddil-peer-holds-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const dir = join(dataDir, 'bundle-peers')
  const id = (n: number): Uint8Array => new Uint8Array(32).fill(n)
  const nodeId = '12D3KooWGzh3Z5iuY9JcuKdvPz9pC6X3YTDu6VsrTXrM5Fu9ahF8'
  const store = createPeerHolds({ dir, crypto })
  t.equal(await store.read(nodeId), undefined, 'nothing known before any import')
  t.equal(await store.record({ nodeId, createdMs: 2000, holds: packShortIds([id(1), id(2)]) }), true, 'the first list is kept')
  t.equal(await store.record({ nodeId, createdMs: 1000, holds: packShortIds([id(9)]) }), false, 'an older bundle imported later is ignored')
  t.equal(await store.record({ nodeId, createdMs: 2000, holds: packShortIds([id(8)]) }), false, 'as is one as old')
  t.equal(statSync(join(dir, `${nodeId}.holds`)).mode & 0o777, 0o600, 'the file is the relay\'s alone')
  const restarted = createPeerHolds({ dir, crypto })
  t.same(await restarted.read(nodeId), { nodeId, createdMs: 2000, holds: packShortIds([id(1), id(2)]) }, 'a restart reads the newest back')
  t.equal(await restarted.record({ nodeId, createdMs: 3000, holds: packShortIds([id(3)]) }), true, 'a newer list replaces it')
  t.same((await createPeerHolds({ dir, crypto }).read(nodeId))?.holds, packShortIds([id(3)]))
  t.equal(await restarted.read('12D3KooWOther'), undefined, 'per node')

  writeFileSync(join(dir, `${nodeId}.holds`), 'damaged')
  await t.rejects(restarted.read(nodeId), { code: 'ERR_STORAGE', message: /is damaged .*: delete it and import a bundle from node 12D3KooW\w+ again/ })
  t.equal(await restarted.record({ nodeId, createdMs: 10, holds: packShortIds([id(4)]) }), true, 'an import replaces a damaged file')
  t.equal((await restarted.read(nodeId))?.createdMs, 10)
  await t.rejects(restarted.read('../../etc/passwd'), { code: 'ERR_USAGE', message: /is not a node id/ }, 'a node id is never a path')
  writeFileSync(join(dir, 'relayx.holds'), encodePeerHolds({ nodeId: 'relayy', createdMs: 1, holds: new Uint8Array(0) }, crypto))
  await t.rejects(restarted.read('relayx'), { code: 'ERR_STORAGE', message: /list of node relayy/ }, 'a file moved to another node\'s name')
})
