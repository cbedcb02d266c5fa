// A relay holds a file (#23) whole or not at all: its quota check refuses a file it cannot hold
// whole at its first piece, and eviction, expiry and a restart never leave a chunk without its
// file. A lone engine on an in-memory store, a governed channel (RelayChannelPolicy) and real
// pieces from splitFile + sealPieces; each case fails if its defence is removed.
import t from 'tap'
import { ManualClock, settle, silentLogger } from './helpers/net.ts'
import { channelClient, relayLog, users } from './helpers/channel-clients.ts'
import { crypto } from './helpers/fixtures.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import { entryOverheadBytes, idKey } from '../protocol/engine/catalog.ts'
import { createEngine, type Engine } from '../protocol/engine/engine.ts'
import { authorRef, decodeEnvelope, Kind, Precedence, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { FileForm } from '../protocol/files/piece.ts'
import { sealPieces } from '../protocol/files/send.ts'
import { splitFile } from '../protocol/files/split.ts'
import { encodeFrame, FrameType, linkVersion } from '../protocol/frames.ts'
import { envelopeBytesMax, fileChunkBytes } from '../protocol/limits.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { Store } from '../protocol/ports.ts'

/** What the relay charges a file piece at most: the whole-file bound is `count` of these. */
const pieceBoundBytes = envelopeBytesMax + entryOverheadBytes
const alice = users[0]

// One channel, created once; each relay learns its governance straight into its policy, so the
// store holds only what a test puts there and its quota arithmetic is exact.
const created = relayLog()
const { channel, channelId } = await channelClient(alice, 0, created.link).createChannel({ name: 'files' })
const governance = created.log.map(b => decodeEnvelope(b, x => crypto.sha256(x)))
const sealer = { channelId, channel, epoch: 1, epochKey: new Uint8Array(32).fill(7), author: alice.ed25519 }

interface Relay { engine: Engine, clock: ManualClock, store: Store, refused: string[], removed: Array<[string, number]>, removedBytes: Array<number | undefined> }

async function relay (storageBytesMax: number, store: Store = new MemoryStore(), clock = new ManualClock()): Promise<Relay> {
  const policy = new RelayChannelPolicy(crypto, () => true)
  for (const env of governance) policy.restored(env)
  const refused: string[] = []
  const removed: Array<[string, number]> = []
  const removedBytes: Array<number | undefined> = []
  const engine = createEngine({
    clock, crypto, store, logger: silentLogger, transport: { send: () => false, disconnect () {} }, authoriser: policy,
    events: { refused: (reason, detail) => { refused.push(`${reason}: ${detail}`) }, removed: (ids, why, bytes) => { removed.push([why, ids.length]); removedBytes.push(bytes) } },
  }, { nodeId: 'relay', storageBytesMax })
  await engine.open()
  engine.linkUp('peer', {})
  engine.receive('peer', encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs: clock.nowMs() }))
  return { engine, clock, store, refused, removed, removedBytes }
}

/** Delivers envelopes from the peer and lets their writes land. */
async function deliver (r: Relay, envs: Envelope[]): Promise<void> {
  for (const env of envs) r.engine.receive('peer', encodeFrame({ type: FrameType.envelope, envelope: env.bytes }))
  await settle()
}

let seq = 0
/** A file of `chunks` chunks of 256 bytes (so `chunks + 1` pieces), sealed with alice's keys at the relay's stamp. */
function file (r: Relay, chunks: number, o: { precedence?: Precedence, ttlSeconds?: number, chunkSize?: number } = {}): Envelope[] {
  const chunkSize = o.chunkSize ?? 256
  const content = new Uint8Array(chunkSize * chunks).fill(seq & 255) // distinct per file
  const split = splitFile(crypto, { name: `f${seq}.bin`, mediaType: 'application/octet-stream', content, chunkSize })
  const pieces = sealPieces(crypto, sealer, split, { form: FileForm.file, precedence: o.precedence ?? Precedence.routine, hlc: r.engine.stamp(), ttlSeconds: o.ttlSeconds ?? 3600, firstSeq: seq + 1 })
  seq += pieces.length
  return pieces
}

/** A message in the channel with a body of `bodyBytes`. */
function message (r: Relay, bodyBytes: number, o: { precedence?: Precedence, ttlSeconds?: number } = {}): Envelope {
  seq++
  return signEnvelope(crypto, {
    kind: Kind.message, precedence: o.precedence ?? Precedence.routine, channel, author: authorRef(alice.ed25519.publicKey), seq,
    hlc: r.engine.stamp(), ttlSeconds: o.ttlSeconds ?? 3600, epoch: 1, deps: [], body: new Uint8Array(bodyBytes).fill(seq & 255),
  }, alice.ed25519.privateKey)
}

const charged = (envs: Envelope[]): number => envs.reduce((n, e) => n + e.bytes.length + entryOverheadBytes, 0)
const held = (r: Relay, envs: Envelope[]): boolean[] => envs.map(e => r.engine.probe.catalog.has(e.key))
const none = (r: Relay, envs: Envelope[]): boolean => held(r, envs).every(h => !h)
const all = (r: Relay, envs: Envelope[]): boolean => held(r, envs).every(h => h)

t.test('a file larger than the free quota is refused whole at its first piece; its later pieces are refused too', async t => {
  // Custody first: a client submits the manifest and is told before any chunk is acknowledged.
  const solo = await relay(4 * pieceBoundBytes)
  const tooBig = file(solo, 4) // 5 pieces: needs 5 × the piece bound
  const err = await solo.engine.submit(tooBig[0].bytes).then(() => undefined, (e: Error & { code?: string }) => e)
  t.equal(err?.code, 'ERR_QUOTA', 'the manifest is refused with a quota error')
  t.match(err?.message, new RegExp(`of 5 pieces needs up to ${5 * pieceBoundBytes} bytes .* has ${4 * pieceBoundBytes} bytes free`), 'naming the file size and the free quota')
  t.equal(solo.engine.probe.catalog.size, 0, 'nothing of it is stored')

  // From a peer, with a custody message (never evicted) taking the room the file would need.
  const r = await relay(5 * pieceBoundBytes + 100)
  const kept = message(r, 600, { ttlSeconds: 10 })
  await r.engine.submit(kept.bytes)
  const f = file(r, 4)
  await deliver(r, [f[0], f[1]])
  t.equal(r.refused.filter(x => x.startsWith('quota')).length, 2, 'manifest and chunk refused')
  t.match(r.refused[0], /refused whole/)
  t.ok(none(r, f), 'nothing of the file is stored')
  t.equal(r.engine.probe.catalog.fileCount, 0)
  t.ok(r.engine.probe.catalog.has(kept.key), 'what was acknowledged is kept')
  // The custody message expires: the room is there now, but the file's manifest was refused, so
  // its chunks are refused rather than stored without it.
  r.clock.now += 11_000
  t.equal(await r.engine.purge(), 1)
  await deliver(r, f.slice(2))
  t.equal(r.refused.filter(x => x.startsWith('quota')).length, 5, 'every later chunk refused')
  t.ok(none(r, f), 'no orphan chunk')
  // Its manifest, offered again, is judged again: the file now fits and is stored whole.
  await deliver(r, f)
  t.ok(all(r, f), 'stored whole once its manifest is taken')
  r.engine.close(); solo.engine.close()
})

t.test('eviction under quota pressure takes a whole lower-precedence file, no orphan chunk left', async t => {
  const probe = await relay(1e9)
  // Full chunks: a piece's charge is then near its bound, which admission judges by.
  const full = { chunkSize: fileChunkBytes }
  const low = file(probe, 4, { precedence: Precedence.routine, ...full })
  const newer = message(probe, 600, { precedence: Precedence.routine })
  const sizing = file(probe, 4, { precedence: Precedence.flash, ...full }) // the shape of `urgent` below
  probe.engine.close()
  // Room for the routine file and message and for all but 100 bytes of a flash file of four
  // chunks: its last piece must evict, and the oldest routine envelope is the routine file's.
  const r = await relay(charged(low) + charged([newer]) + charged(sizing) - 100)
  await deliver(r, [...low, newer])
  t.ok(all(r, low) && all(r, [newer]), 'the routine file and message are held')
  // A flash file no eviction could make room for: what it would have evicted is put back, file index and all.
  const huge = file(r, 9, { precedence: Precedence.flash, ...full })
  await deliver(r, huge.slice(0, 1))
  t.ok(none(r, huge) && all(r, low), 'refused, and nothing evicted for it')
  t.equal(r.engine.probe.catalog.piecesOf(idKey(low[0].id)).length, 5, 'the routine file is indexed as before')
  const urgent = file(r, 4, { precedence: Precedence.flash, ...full })
  await deliver(r, urgent)
  t.ok(all(r, urgent), 'the flash file is stored whole')
  t.ok(none(r, low), 'the routine file is evicted whole')
  t.ok(low.every(e => r.engine.probe.catalog.tombstones.has(e.key)), 'every piece tombstoned')
  t.ok(r.engine.probe.catalog.has(newer.key), 'the newer routine message is kept: the file alone made the room')
  t.same(r.engine.probe.catalog.piecesOf(idKey(low[0].id)), [])
  t.equal(r.engine.counters.evicted, 5)
  t.same(r.removed, [['evicted', 5]])
  t.same(r.removedBytes, [charged(low)], 'the eviction reports the quota bytes it freed (audited as store.evicted, #25)')
  r.engine.close()
})

t.test('a piece needing room never evicts its own file: newer envelopes go instead', async t => {
  const probe = await relay(1e9)
  const f = file(probe, 4)
  const fillers = Array.from({ length: 6 }, () => message(probe, 1000))
  probe.engine.close()
  // The file's first two pieces and six messages leave less room than its third piece needs, yet
  // the file fitted whole when its first piece came.
  const quota = charged(f.slice(0, 2)) + charged(fillers) + 300
  t.ok(quota >= 5 * pieceBoundBytes && charged([f[2]]) > 300, 'the arithmetic this case relies on')
  const r = await relay(quota)
  await deliver(r, f.slice(0, 2))
  await deliver(r, fillers)
  t.ok(all(r, fillers), 'the fillers fitted')
  await deliver(r, [f[2]])
  t.ok(all(r, f.slice(0, 3)), 'the file\'s pieces are all kept')
  t.notOk(r.engine.probe.catalog.has(fillers[0].key), 'the oldest other envelope was evicted instead')
  r.engine.close()
})

t.test('expiry purges a whole file, even when its author gave its pieces different ttls', async t => {
  const r = await relay(1e9)
  const long = file(r, 4, { ttlSeconds: 3600 })
  // Chunk 1 re-signed with a short ttl: it expires first, and takes its file with it.
  const short = { ...long[2], ttlSeconds: 20 }
  const pieces = [long[0], long[1], signEnvelope(crypto, short, alice.ed25519.privateKey), long[3], long[4]]
  await deliver(r, pieces)
  t.ok(all(r, pieces), 'stored whole')
  r.clock.now += 21_000
  t.equal(await r.engine.purge(), 5, 'the expired chunk and the rest of its file')
  t.ok(none(r, pieces), 'nothing of the file is left')
  t.equal(r.engine.probe.catalog.fileCount, 0)
  t.same(r.removed, [['purged', 5]])
  await deliver(r, [long[0], long[3]])
  t.ok(none(r, pieces), 'pieces offered again before their own expiry are not stored again')
  t.equal(r.engine.counters.duplicatesReceived, 2)
  r.engine.close()
})

t.test('a reopened relay rebuilds its file index: eviction after a restart is still whole', async t => {
  const probe = await relay(1e9)
  const full = { chunkSize: fileChunkBytes }
  const low = file(probe, 4, full)
  const sizing = file(probe, 4, { precedence: Precedence.flash, ...full }) // the shape of `urgent` below
  probe.engine.close()
  const store = new MemoryStore()
  const quota = charged(low) + charged(sizing) - 100
  const first = await relay(quota, store)
  await deliver(first, low)
  t.ok(all(first, low), 'stored before the restart')
  first.engine.close()
  const r = await relay(quota, store, first.clock)
  t.ok(all(r, low), 'restored')
  t.same(r.engine.probe.catalog.piecesOf(idKey(low[0].id)).length, 5, 'its file index rebuilt')
  const urgent = file(r, 4, { precedence: Precedence.flash, ...full })
  await deliver(r, urgent)
  t.ok(all(r, urgent), 'the new file is stored whole')
  t.ok(none(r, low), 'the restored file is evicted whole')
  r.engine.close()
})

t.test('a file that just fits is stored whole, its pieces arriving at once or submitted in order', async t => {
  const probe = await relay(1e9)
  const f = file(probe, 4)
  probe.engine.close()
  // Every piece in flight together: the first asked room for the file, the rest must not ask again.
  const r = await relay(5 * pieceBoundBytes)
  await deliver(r, f)
  t.same(r.refused, [])
  t.ok(all(r, f), 'stored whole')
  t.equal(r.engine.probe.catalog.piecesOf(idKey(f[0].id)).length, 5)
  const solo = await relay(5 * pieceBoundBytes)
  for (const e of f) await solo.engine.submit(e.bytes)
  t.ok(all(solo, f), 'a client\'s file, manifest first, is stored whole')
  r.engine.close(); solo.engine.close()
})

t.test('a manifest that only claims a large file evicts nothing: what the relay carries for others stays', async t => {
  const probe = await relay(1e9)
  const others = Array.from({ length: 8 }, () => message(probe, 1000))
  const claim = file(probe, 40, { precedence: Precedence.flash }) // a manifest counting 41 pieces; its chunks never come
  probe.engine.close()
  // The claimed file's bound fits the quota only with the others evicted; its manifest fits beside them.
  const r = await relay(41 * pieceBoundBytes + 10)
  await deliver(r, others)
  await deliver(r, claim.slice(0, 1))
  t.ok(all(r, claim.slice(0, 1)), 'the manifest is taken: the file could be held whole')
  t.ok(all(r, others), 'and nothing was evicted for the chunks it only claims')
  t.same(r.removed, [])
  r.engine.close()
})

t.test('at link-up a relay asks for the pieces a drop cut off, by sequence number: a run, not an id each', async t => {
  const { Catalog } = await import('../protocol/engine/catalog.ts')
  const { askForFilePieces } = await import('../protocol/engine/gaps.ts')
  const catalog = new Catalog()
  const stream = String.fromCharCode(...new Uint8Array(8).fill(1), ...new Uint8Array(8).fill(2))
  const piece = (seq: number, file: string): void => catalog.add({
    key: `${file}-${seq}`, expiresAtMs: 1e12, precedence: Precedence.routine, kind: Kind.file, hlcMs: 1, hlcC: 0, size: 1300, stream, seq, custody: false,
    file, fileSpan: { firstSeq: 10, count: 1000 },
  })
  for (let seq = 10; seq < 410; seq++) piece(seq, 'F') // the manifest and 399 chunks of 999 held
  const frames: Array<Record<string, unknown>> = []
  const link = { control: (f: Record<string, unknown>) => { frames.push(f) } } as unknown as Parameters<typeof askForFilePieces>[0]
  t.equal(askForFilePieces(link, catalog), true)
  t.match(frames, [{ type: FrameType.wantSeq, seqFrom: 410, seqTo: 1009 }], 'one run for the 600 missing')
  for (let seq = 410; seq < 1010; seq++) piece(seq, 'F')
  frames.length = 0
  t.equal(askForFilePieces(link, catalog), false, 'a whole file asks nothing')
  t.same(frames, [])
})
