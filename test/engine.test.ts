// The store-and-forward engine on a manual clock and an in-memory network: topologies,
// partitions, restarts, expiry, eviction, precedence, equivocation, gaps and junk from peers.
import t from 'tap'
import { clockPeers, ManualClock, silentLogger, TestNet } from './helpers/net.ts'
import { createEngine } from '../protocol/engine/engine.ts'
import { GroupCommit } from '../protocol/engine/group-commit.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { Store, StoreOp } from '../protocol/ports.ts'
import { toHex } from '../protocol/bytes.ts'
import { Precedence, signEnvelope, authorRef, Kind } from '../protocol/envelope.ts'
import { FrameType, encodeFrame } from '../protocol/frames.ts'
import { aliceKeys, crypto, messageFields } from './helpers/fixtures.ts'
import { Catalog, entryOverheadBytes, idFromKey, idKey, idsAt, type Entry } from '../protocol/engine/catalog.ts'

t.test('two nodes: a post reaches the peer once, and the local node once', async t => {
  const net = new TestNet()
  await net.node('a'); await net.node('b')
  net.connect('a', 'b', { latencyMs: 20 })
  await net.run(100)
  const alice = net.author(1)
  const env = await net.post('a', alice, 1)
  await net.run(100)
  t.same(net.ids('b'), [toHex(env.id)])
  t.equal(net.delivered.get('a')?.length, 1)
  t.equal(net.delivered.get('b')?.length, 1)
  await net.engines.get('a')!.submit(env.bytes) // resubmitting the same bytes is idempotent
  await net.run(100)
  t.equal(net.delivered.get('b')?.length, 1, 'nothing delivered twice')
})

t.test('a chain of five and a star: everyone gets everything exactly once, without duplicate payloads', async t => {
  for (const shape of ['chain', 'star'] as const) {
    const net = new TestNet()
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5']
    for (const id of ids) await net.node(id)
    if (shape === 'chain') for (let i = 0; i < 4; i++) net.connect(ids[i], ids[i + 1], { latencyMs: 10 })
    else for (let i = 1; i < 5; i++) net.connect('n1', ids[i], { latencyMs: 10 })
    await net.run(100)
    const authors = ids.map((_, i) => net.author(10 + i))
    for (let k = 0; k < 3; k++) for (let i = 0; i < 5; i++) await net.post(ids[i], authors[i], k + 1)
    await net.run(1000)
    for (const id of ids) {
      t.equal(net.ids(id).length, 15, `${shape}: ${id} holds all 15`)
      t.equal(net.delivered.get(id)?.length, 15, `${shape}: ${id} delivered 15, none twice`)
    }
    const dup = ids.reduce((s, id) => s + (net.engines.get(id)?.counters.duplicatePayloadBytesReceived ?? 0), 0)
    t.equal(dup, 0, `${shape}: no duplicate payload bytes`)
  }
})

t.test('full mesh of six: neighbour-aware push sends no payload twice', async t => {
  const net = new TestNet()
  const ids = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']
  for (const id of ids) await net.node(id)
  for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) net.connect(ids[i], ids[j], { latencyMs: 5 })
  await net.run(200)
  const author = net.author(3)
  for (let k = 1; k <= 20; k++) await net.post(ids[k % 6], author, k)
  await net.run(2000)
  let dup = 0; let sent = 0
  for (const id of ids) {
    t.equal(net.ids(id).length, 20)
    dup += net.engines.get(id)?.counters.duplicatePayloadBytesReceived ?? 0
    sent += net.engines.get(id)?.counters.payloadBytesSent ?? 0
  }
  t.equal(dup, 0, `duplicate payload bytes ${dup} of ${sent} sent`)
})

t.test('partition and heal: posts on both sides arrive after heal (reconciliation)', async t => {
  const net = new TestNet({ reconcileIntervalMs: 5_000 })
  for (const id of ['a', 'b', 'c', 'd']) await net.node(id)
  net.connect('a', 'b'); net.connect('b', 'c'); net.connect('c', 'd')
  await net.run(100)
  const alice = net.author(1); const dave = net.author(4)
  await net.post('a', alice, 1)
  await net.run(100)
  net.cut('b', 'c')
  for (let k = 2; k <= 6; k++) await net.post('a', alice, k)
  for (let k = 1; k <= 4; k++) await net.post('d', dave, k)
  await net.run(1000)
  t.equal(net.ids('a').length, 6, 'a side has its own posts only')
  t.equal(net.ids('d').length, 5)
  net.connect('b', 'c')
  await net.run(2000)
  for (const id of ['a', 'b', 'c', 'd']) t.equal(net.ids(id).length, 10, `${id} holds all after heal`)
  t.ok((net.engines.get('b')?.counters.reconcileSessions ?? 0) + (net.engines.get('c')?.counters.reconcileSessions ?? 0) > 0)
})

t.test('a node crashed and reopened from its store keeps what it acknowledged and catches up', async t => {
  const net = new TestNet({ reconcileIntervalMs: 5_000 })
  await net.node('a'); await net.node('b')
  net.connect('a', 'b')
  await net.run(100)
  const alice = net.author(1)
  for (let k = 1; k <= 5; k++) await net.post('a', alice, k)
  await net.run(200)
  const storeB = net.crash('b')
  for (let k = 6; k <= 8; k++) await net.post('a', alice, k)
  const b = await net.node('b', {}, storeB)
  t.equal(b.probe.catalog.size, 5, 'reopened with its five envelopes')
  net.connect('a', 'b')
  await net.run(500)
  t.equal(net.ids('b').length, 8, 'caught up after restart')
})

t.test('expiry: refused on arrival, purged on schedule, never fetched again', async t => {
  const net = new TestNet({ purgeIntervalMs: 1_000 })
  await net.node('a'); await net.node('b')
  const alice = net.author(1)
  const short = await net.post('a', alice, 1, { ttlSeconds: 10 })
  await net.post('a', alice, 2, { ttlSeconds: 3600 })
  await net.run(11_000)
  t.equal(net.ids('a').length, 1, 'expired envelope purged at a')
  t.equal(net.engines.get('a')?.counters.purged, 1)
  // b receives the expired one directly from a misbehaving sender: refused.
  net.connect('a', 'b')
  await net.run(100)
  net.engines.get('b')?.receive('a', encodeFrame({ type: FrameType.envelope, envelope: short.bytes }))
  await net.run(2000)
  t.equal(net.ids('b').length, 1, 'b holds only the live one')
  t.equal(net.engines.get('b')?.counters.expiredOnArrival, 1)
  await t.rejects(net.engines.get('a')!.submit(short.bytes), { code: 'ERR_EXPIRED' }, 'a client cannot submit it either')
})

t.test('quota: eviction takes expired, then lowest precedence, oldest first; custody is never evicted', async t => {
  const net = new TestNet()
  const envSize = 100 + 100 + entryOverheadBytes // approx: body 100 + header/sig ~100
  await net.node('relay', { storageBytesMax: envSize * 4 })
  await net.node('src')
  const author = net.author(5)
  net.connect('src', 'relay')
  await net.run(50)
  // Relay holds (not in custody) routine r1, r2, priority p1; then flash and more routine arrive.
  const r1 = await net.post('src', author, 1, { precedence: Precedence.routine })
  await net.run(10)
  const p1 = await net.post('src', author, 2, { precedence: Precedence.priority })
  await net.run(10)
  const r2 = await net.post('src', author, 3, { precedence: Precedence.routine })
  await net.run(10)
  const r3 = await net.post('src', author, 4, { precedence: Precedence.routine })
  await net.run(10)
  t.equal(net.ids('relay').length, 4)
  const f1 = await net.post('src', author, 5, { precedence: Precedence.flash })
  await net.run(10)
  const held = new Set(net.ids('relay'))
  t.notOk(held.has(toHex(r1.id)), 'oldest routine evicted first')
  t.ok(held.has(toHex(f1.id)) && held.has(toHex(p1.id)) && held.has(toHex(r2.id)) && held.has(toHex(r3.id)))
  t.equal(net.engines.get('relay')?.counters.evicted, 1)
  t.ok(net.engines.get('relay')?.probe.catalog.tombstones.has(String.fromCharCode(...r1.id)), 'evicted id tombstoned')
  // The relay's own client's messages are custody: when only those remain, new custody is refused.
  const relayAuthor = net.author(6)
  const full = new TestNet()
  await full.node('solo', { storageBytesMax: envSize * 2 })
  full.keys.set(toHex(authorRef(relayAuthor.publicKey)), relayAuthor.publicKey)
  await full.post('solo', relayAuthor, 1)
  await full.post('solo', relayAuthor, 2)
  await t.rejects(full.post('solo', relayAuthor, 3, { precedence: Precedence.flash }), { code: 'ERR_QUOTA' }, 'refused, not evicted')
  t.equal(full.ids('solo').length, 2, 'custody kept')
})

t.test('a flash envelope overtakes a routine backlog on a slow link', async t => {
  const net = new TestNet()
  await net.node('hq'); await net.node('field')
  net.connect('hq', 'field', { latencyMs: 40, bandwidthBps: 9600 })
  await net.run(500)
  const author = net.author(7)
  const arrivals: Array<{ prec: number, at: number }> = []
  net.events.stored = (env, from) => { if (from !== 'local') arrivals.push({ prec: env.precedence, at: net.clock.now }) }
  for (let k = 1; k <= 20; k++) await net.post('hq', author, k, { body: new Uint8Array(400) })
  const flash = await net.post('hq', author, 21, { precedence: Precedence.flash, body: new Uint8Array(100) })
  await net.run(30_000)
  t.equal(net.ids('field').length, 21)
  const flashAt = arrivals.findIndex(a => a.prec === Precedence.flash)
  t.ok(flashAt >= 0 && flashAt <= 1, `flash arrived ${flashAt + 1}th of 21 (at most one routine frame was already on the wire)`)
  t.ok(flash.bytes.length > 0)
})

t.test('equivocation: two envelopes with one sequence are both kept and flagged; replication continues', async t => {
  const flagged: string[] = []
  const net = new TestNet({}, { equivocation: (_first, second) => { flagged.push(toHex(second.id)) } })
  await net.node('a'); await net.node('b')
  net.connect('a', 'b')
  await net.run(50)
  const mallory = net.author(8)
  const one = await net.post('a', mallory, 7, { body: new Uint8Array([1]) })
  const two = await net.post('a', mallory, 7, { body: new Uint8Array([2]) })
  await net.post('a', mallory, 8)
  await net.run(200)
  t.same(net.ids('b').sort(), net.ids('a').sort())
  t.equal(net.ids('b').length, 3, 'both equivocating envelopes kept as proof, and the next one replicated')
  t.ok(flagged.includes(toHex(two.id)) && one.id.length === 32)
  t.equal(net.engines.get('b')?.counters.equivocations, 1)
})

t.test('sequence gap: a relay that drops one author is bypassed by pulling from another peer', async t => {
  // bad forwards to good and dst; good does not push to dst because bad advertises dst as its own
  // neighbour. So when bad drops seq 2 towards dst, only gap repair (not push) can fill it.
  const net = new TestNet({ gapGraceMs: 500, reconcileIntervalMs: 3_600_000 })
  for (const id of ['src', 'bad', 'good', 'dst']) await net.node(id)
  net.connect('src', 'bad'); net.connect('bad', 'good'); net.connect('bad', 'dst'); net.connect('good', 'dst')
  await net.run(100)
  const victim = net.author(9)
  net.link('bad', 'dst')!.tamper = (from, frame) => {
    if (from === 'bad' && frame[0] === FrameType.envelope && frame[1 + 1 + 8 + 8] === 2) return null
    return frame
  }
  for (let k = 1; k <= 3; k++) await net.post('src', victim, k)
  await net.run(300)
  t.equal(net.ids('good').length, 3, 'good holds all three')
  t.equal(net.ids('dst').length, 2, 'seq 2 was dropped on its way to dst')
  await net.run(1000)
  t.equal(net.ids('dst').length, 3, 'gap pulled from good')
  t.equal(net.engines.get('dst')?.counters.gapRequests, 2, 'asked of bad first (its seq 3 revealed the gap), then of every other peer')
})

t.test('garbage and forgeries from a peer cost it its link; honest traffic keeps flowing', async t => {
  const penalised: string[] = []
  const net = new TestNet({}, { penalised: (peer) => { penalised.push(peer) } })
  await net.node('victim'); await net.node('honest'); await net.node('evil')
  net.connect('victim', 'honest'); net.connect('victim', 'evil')
  await net.run(100)
  const alice = net.author(1)
  const victim = net.engines.get('victim')!
  const env = signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8), author: authorRef(alice.publicKey), seq: 1, hlc: victim.stamp(), ttlSeconds: 60, epoch: 0, deps: [], body: new Uint8Array(4) }, alice.privateKey)
  const forged = env.bytes.slice(); forged[forged.length - 1] ^= 1
  for (let i = 0; i < 4; i++) victim.receive('evil', Uint8Array.of(0xff, 1, 2, 3))
  for (let i = 0; i < 4; i++) victim.receive('evil', encodeFrame({ type: FrameType.envelope, envelope: forged }))
  for (let i = 0; i < 4; i++) victim.receive('evil', Uint8Array.of(FrameType.want, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
  await net.run(100)
  t.same(penalised, ['evil'])
  t.ok(net.disconnects.some(d => d.from === 'victim' && d.peer === 'evil'))
  t.equal(victim.probe.catalog.size, 0, 'nothing forged stored')
  await net.post('honest', alice, 1)
  await net.run(100)
  t.equal(victim.probe.catalog.size, 1, 'honest traffic still delivered')
})

t.test('the log lists a channel newest-last for backlogs, and forgets purged envelopes', async t => {
  const net = new TestNet({ purgeIntervalMs: 1_000 })
  const a = await net.node('a')
  const alice = net.author(1)
  const other = new Uint8Array(8).fill(3)
  const posted = []
  for (let k = 1; k <= 5; k++) { posted.push(await net.post('a', alice, k, { ttlSeconds: k === 1 ? 10 : 3600 })); await net.run(5) }
  await net.post('a', alice, 6, { channel: other })
  const channel = posted[0].channel
  t.same((await a.history(channel, Kind.message, 3)).map(x => toHex(x.id)), posted.slice(2).map(e => toHex(e.id)), 'newest three, oldest first')
  t.equal((await a.history(channel, Kind.message, 100)).length, 5)
  t.equal((await a.history(channel, Kind.governance, 100)).length, 0, 'by kind')
  await net.run(11_000)
  t.equal((await a.history(channel, Kind.message, 100)).length, 4, 'purged envelope gone from the index')
})

t.test('pending authorisation: held, then stored when decidable; strong removal discards a stream', async t => {
  const net = new TestNet()
  const late = net.author(30)
  const lateRef = toHex(authorRef(late.publicKey))
  let undecided = true
  const b = await net.node('b', {}, undefined, {
    authorise: (env) => toHex(env.author) === lateRef && undecided ? { ok: false, pending: true, reason: 'unknown author' } : net.authoriser.authorise(env),
  })
  await net.node('a')
  net.connect('a', 'b')
  await net.run(50)
  const env = await net.post('a', late, 1)
  await net.run(100)
  t.notOk(net.ids('b').includes(toHex(env.id)), 'held, not stored')
  t.equal(b.counters.heldPending, 1)
  undecided = false
  b.retryPending()
  await net.run(100)
  t.ok(net.ids('b').includes(toHex(env.id)), 'stored once decidable')
  // Strong removal: everything after seq 2 of this author in this channel goes, with tombstones.
  for (let k = 2; k <= 4; k++) await net.post('a', late, k)
  await net.run(100)
  t.equal(net.ids('b').length, 4)
  t.equal(await b.discardStream(env.channel, env.author, 2), 2)
  t.equal(net.ids('b').length, 2)
  t.equal(b.probe.catalog.tombstones.size, 2, 'discarded ids are tombstoned, so reconciliation will not fetch them back')
})

t.test('the pending pool is bounded: envelopes for unknown channels cannot fill memory', async t => {
  const net = new TestNet()
  const b = await net.node('b', {}, undefined, { authorise: () => ({ ok: false, pending: true, reason: 'unknown channel' }) })
  await net.node('a')
  net.connect('a', 'b')
  await net.run(50)
  const flood = net.author(31)
  const { pendingEnvelopesMax } = await import('../protocol/limits.ts')
  const a = net.engines.get('a')!
  for (let k = 1; k <= pendingEnvelopesMax + 10; k++) {
    const env = signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8).fill(k % 251), author: authorRef(flood.publicKey), seq: k, hlc: a.stamp(), ttlSeconds: 600, epoch: 0, deps: [], body: new Uint8Array(8) }, flood.privateKey)
    b.receive('a', encodeFrame({ type: FrameType.envelope, envelope: env.bytes }))
  }
  await net.run(10)
  t.equal(b.counters.heldPending, pendingEnvelopesMax + 10)
  t.equal(b.counters.refused, 10, 'the oldest ten were dropped from the pool')
  t.equal(b.probe.catalog.size, 0)
})

t.test('network time: a relay a day off agrees with its peers; one peer cannot drag it', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  const day = 24 * 3600_000
  const now = net.clock.now
  const set = (offsets: number[]): void => { clockPeers(x, now, offsets) }
  set([0, 0, 0])
  t.equal(x.probe.networkNowMs(), now, 'agreeing peers: no correction')
  set([day, day, day])
  t.equal(x.probe.networkNowMs(), now + day, 'our clock is a day slow: corrected by the majority')
  set([day, 0, 0])
  t.equal(x.probe.networkNowMs(), now, 'one peer a day off does not move us')
  set([30 * day, 30 * day, 30 * day])
  t.equal(x.probe.networkNowMs(), now + 25 * 3600_000, 'clamped to the skew allowance')
  // An envelope stamped 48 h ahead of our wall clock is far-future unless our clock is the one that is off.
  set([day, day, day])
  const alice = net.author(1)
  const env = signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8), author: authorRef(alice.publicKey), seq: 1, hlc: { ms: now + 2 * day, c: 0 }, ttlSeconds: 3600, epoch: 0, deps: [], body: new Uint8Array(4) }, alice.privateKey)
  await x.submit(env.bytes)
  t.equal(x.probe.catalog.size, 1, 'accepted: it is only 24 h ahead of network time')
  set([0, 0, 0])
  const env2 = signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8), author: authorRef(alice.publicKey), seq: 2, hlc: { ms: now + 2 * day, c: 0 }, ttlSeconds: 3600, epoch: 0, deps: [], body: new Uint8Array(4) }, alice.privateKey)
  await t.rejects(x.submit(env2.bytes), { code: 'ERR_CLOCK_SKEW' }, 'with agreeing peers, 48 h ahead is refused')
})

t.test('id keys: one char per byte, round trip for ids and other lengths, distinct for distinct ids', async t => {
  const ids = [new Uint8Array(32), new Uint8Array(32).fill(255), Uint8Array.from({ length: 32 }, (_, i) => i * 8), Uint8Array.from({ length: 8 }, (_, i) => 250 - i), new Uint8Array(0)]
  for (const id of ids) {
    const k = idKey(id)
    t.equal(k.length, id.length, `length ${id.length}`)
    t.same(idFromKey(k), id, `round trip of ${toHex(id) || 'empty'}`)
  }
  const a = Uint8Array.from({ length: 32 }, (_, i) => i)
  const b = a.slice(); b[31] = 99
  t.not(idKey(a), idKey(b), 'the last byte counts')
})

t.test('catalog: one id per sequence, a list only while an author equivocates', async t => {
  const c = new Catalog()
  const entry = (key: string, seq: number): Entry => ({ key, expiresAtMs: 1e6, precedence: 3, kind: 0, hlcMs: seq, hlcC: 0, size: 300, stream: 'chan' + 'auth', seq, custody: false })
  c.add(entry('a'.repeat(32), 1)); c.add(entry('b'.repeat(32), 2)); c.add(entry('c'.repeat(32), 2))
  const s = c.streams.get('chanauth')
  t.same(idsAt(s, 1), ['a'.repeat(32)])
  t.same(idsAt(s, 2), ['b'.repeat(32), 'c'.repeat(32)], 'equivocation: both held')
  t.same(c.idsInSeqRange('chanauth', 1, 3), ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)])
  c.remove('b'.repeat(32))
  t.same(idsAt(s, 2), ['c'.repeat(32)], 'one left')
  t.equal(typeof s?.bySeq.get(2), 'string', 'back to a single id')
  c.remove('c'.repeat(32))
  t.same(idsAt(s, 2), [])
  t.same(c.missingSeqs('chanauth', 1, 3, 10), [2, 3])
  t.equal(s?.highest, 2, 'a removed sequence is not a gap to chase')
})

t.test('a failed store write fails every submit waiting on it, and stores nothing', async t => {
  const inner = new MemoryStore()
  let failWrites = false
  const store: Store = {
    get: k => inner.get(k),
    range: o => inner.range(o),
    close: () => inner.close(),
    batch: async ops => { if (failWrites) throw new Error('disk full'); return inner.batch(ops) },
  }
  const clock = new ManualClock()
  const nowMs = clock.nowMs()
  const engine = createEngine({
    clock, crypto, store, logger: silentLogger, transport: { send: () => false, disconnect () {} },
    authoriser: { authorise: () => ({ ok: true, publicKey: aliceKeys.publicKey }) },
  }, { nodeId: 'solo' })
  await engine.open()
  const env = signEnvelope(crypto, messageFields({ hlc: { ms: nowMs, c: 0 } }), aliceKeys.privateKey)
  failWrites = true
  const results = await Promise.allSettled([engine.submit(env.bytes), engine.submit(env.bytes)])
  t.same(results.map(r => r.status), ['rejected', 'rejected'], 'neither submit is acknowledged')
  t.equal(engine.probe.catalog.size, 0)
  failWrites = false
  t.equal(toHex((await engine.submit(env.bytes)).id), toHex(env.id), 'once the disk recovers, the same envelope is stored')
  t.equal(engine.probe.catalog.size, 1)
  engine.close()
})

t.test('group commit: writes made while a batch is in flight go out together next, and a failed batch fails only its own', async t => {
  const inner = new MemoryStore()
  const batches: number[] = []
  const pending: Array<{ ops: number, land: () => void, fail: () => void }> = []
  const store: Store = {
    get: k => inner.get(k),
    range: o => inner.range(o),
    close: () => inner.close(),
    batch: ops => new Promise((resolve, reject) => {
      batches.push(ops.length)
      pending.push({ ops: ops.length, land: () => { inner.batch(ops).then(resolve, reject) }, fail: () => reject(new Error('disk full')) })
    }),
  }
  const commit = new GroupCommit({ store })
  const put = (n: number): StoreOp => ({ type: 'put', key: Uint8Array.of(0x7e, n), value: Uint8Array.of(n) })
  const outcomes: string[] = []
  const track = (name: string, p: Promise<void>): void => { p.then(() => outcomes.push(`${name} ok`), () => outcomes.push(`${name} failed`)) }
  track('a', commit.write([put(1)]))
  track('b', commit.write([put(2)]))
  track('c', commit.write([put(3), put(4)]))
  t.same(batches, [1], 'the first write goes out at once; the others wait')
  pending.shift()?.fail()
  await new Promise(resolve => setImmediate(resolve))
  t.same(batches, [1, 3], 'what queued meanwhile goes out as one batch')
  t.same(outcomes, ['a failed'], 'only the failed batch\'s writer is told')
  pending.shift()?.land()
  await new Promise(resolve => setImmediate(resolve))
  t.same(outcomes.sort(), ['a failed', 'b ok', 'c ok'])
  t.same(await inner.get(Uint8Array.of(0x7e, 4)), Uint8Array.of(4))
  t.equal(await inner.get(Uint8Array.of(0x7e, 1)), undefined)
})

t.test('a peer that keeps pushing duplicates is asked again to prune, at most once per pruneRepeatMs', async t => {
  const net = new TestNet()
  await net.node('relay'); await net.node('peer')
  net.connect('relay', 'peer')
  await net.run(100)
  const alice = net.author(1)
  const relay = net.engines.get('relay')!
  const frame = (seq: number): Uint8Array => encodeFrame({
    type: FrameType.envelope,
    envelope: signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8), author: authorRef(alice.publicKey), seq, hlc: relay.stamp(), ttlSeconds: 3600, epoch: 0, deps: [], body: new Uint8Array(4) }, alice.privateKey).bytes,
  })
  const pushTwice = async (f: Uint8Array): Promise<void> => { relay.receive('peer', f); await net.run(10); relay.receive('peer', f); await net.run(10) }
  await pushTwice(frame(1))
  t.equal(relay.counters.prunesSent, 1, 'the first duplicate asks the peer to announce this author instead')
  await pushTwice(frame(2))
  t.equal(relay.counters.prunesSent, 1, 'not again straight away')
  await net.run(relay.probe.config.pruneRepeatMs)
  await pushTwice(frame(3))
  t.equal(relay.counters.prunesSent, 2, 'still pushing later (it grafted, or restarted and forgot): asked again')
  t.equal(relay.counters.duplicatesReceived, 3)
})
