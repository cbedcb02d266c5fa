// Catching up after a long absence (engine level, TestNet). A reconciliation that cannot
// decode, or that the peer ends at a limit, is nobody's fault: no penalty, and the next
// attempt goes range by range. A peer speaking another reconciliation version costs nothing.
// A session whose peer never answers is given up after a few intervals. A difference far
// larger than the link's queue crosses at the link's pace, each envelope once. A sequence
// number far ahead of what a relay holds is stored, and the gap below it is chased within
// bounds: one check per stream, a bounded number of streams.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { crossOver } from './helpers/catchup.ts'
import { prng, testSeed } from './helpers/seed.ts'
import { decodeFrame, encodeFrame, FrameType } from '../protocol/frames.ts'
import { AbortReason, decodeMessage, encodeMessage, MessageType } from '../protocol/reconcile/index.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import { ServeBacklog } from '../protocol/engine/backlog.ts'
import { gapChecksPendingMax } from '../protocol/limits.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { crypto } from './helpers/fixtures.ts'

const scoreOf = (engine: Engine, peer: string): number | undefined => engine.status().peers.find(p => p.id === peer)?.score

/** Two nodes that each hold envelopes the other lacks (two authors, `each` envelopes apiece). */
async function apart (net: TestNet, each: number): Promise<{ a: Engine, b: Engine }> {
  const a = await net.node('a'); const b = await net.node('b')
  const alice = net.author(1); const bob = net.author(2)
  for (let seq = 1; seq <= each; seq++) { await net.post('a', alice, seq); await net.post('b', bob, seq) }
  return { a, b }
}

/** Rewrites reconcile payloads from `from` in the first session only. */
function firstSession (net: TestNet, from: string, to: string, rewrite: (payload: Uint8Array) => Uint8Array | null): void {
  let first: number | undefined
  net.link(from, to)!.tamper = (sender, frame) => {
    if (sender !== from || frame[0] !== FrameType.reconcile) return frame
    const f = decodeFrame(frame)
    if (f.type !== FrameType.reconcile) return frame
    first ??= f.session
    if (f.session !== first) return frame
    const payload = rewrite(f.payload)
    return payload === null ? null : encodeFrame({ ...f, payload })
  }
}

t.test('a session that cannot decode is nobody\'s fault: no penalty, and the next attempt goes range by range', async t => {
  const rng = prng(testSeed(t))
  const net = new TestNet({ reconcileIntervalMs: 3_600_000 }) // only link-up starts a pass
  const { a, b } = await apart(net, 200)
  net.connect('a', 'b', { latencyMs: 2 })
  // b's symbols in the first session turn to noise: a cannot tell that from a difference too
  // large to decode within its symbol limit (1,048,576 symbols), the failure the issue measured.
  firstSession(net, 'b', 'a', payload => {
    const m = decodeMessage(payload, { symbolsMax: 1 << 20 })
    if (m.type !== MessageType.symbols) return payload
    const words = Int32Array.from(m.words, (_, j) => j % 4 === 3 ? rng.int(256) : (rng.next() * 2 ** 32) | 0)
    return encodeMessage({ ...m, words })
  })
  await net.run(60_000)
  t.equal(net.ids('a').length, 400, 'a has both authors\' envelopes')
  t.same(net.ids('a'), net.ids('b'), 'a and b converged')
  t.equal(a.counters.peersPenalised + b.counters.peersPenalised, 0, 'nobody penalised')
  t.equal(scoreOf(a, 'b'), 100, 'b\'s score at a is untouched')
  t.same(net.disconnects, [], 'no link cut')
  t.ok(a.counters.reconcileSessions >= 3, `${a.counters.reconcileSessions} sessions: the failed one, then the halves`)
})

t.test('a peer that ends a session with ABORT is not penalised; the range is retried deeper', async t => {
  const net = new TestNet({ reconcileIntervalMs: 3_600_000 })
  const { a, b } = await apart(net, 50)
  net.connect('a', 'b', { latencyMs: 2 })
  firstSession(net, 'b', 'a', payload => payload[1] === MessageType.symbols ? encodeMessage({ type: MessageType.abort, reason: AbortReason.limit }) : payload)
  await net.run(10_000)
  t.same(net.ids('a'), net.ids('b'), 'converged')
  t.equal(net.ids('a').length, 100)
  t.equal(scoreOf(a, 'b'), 100, 'no penalty at a')
  t.equal(a.counters.reconcileSessions, 3, 'the aborted session, then one per half')
})

t.test('a peer speaking another reconciliation version costs it nothing; a session nobody answers is given up', async t => {
  const net = new TestNet({ reconcileIntervalMs: 5_000 })
  const { a, b } = await apart(net, 20)
  net.connect('a', 'b', { latencyMs: 2 })
  await net.run(2_000)
  const before = b.counters.reconcileSessions + a.counters.reconcileSessions
  const v1 = encodeMessage({ type: MessageType.more, n: 3 }); v1[0] = 1
  for (let i = 0; i < 20; i++) b.receive('a', encodeFrame({ type: FrameType.reconcile, session: 1000 + i, payload: v1 }))
  await net.run(100)
  t.equal(scoreOf(b, 'a'), 100, 'twenty version-1 messages: no penalty')
  t.same(net.disconnects, [])
  t.equal(a.counters.reconcileSessions + b.counters.reconcileSessions, before, 'and no session started for them')

  // b drops its side of a's next session without a word: a gives up after three intervals and starts another.
  const net2 = new TestNet({ reconcileIntervalMs: 5_000 })
  const two = await apart(net2, 20)
  net2.connect('a', 'b', { latencyMs: 2 })
  firstSession(net2, 'b', 'a', () => null)
  await net2.run(4_000)
  t.equal(net2.ids('a').length, 20, 'the first session never answered')
  await net2.run(26_000) // given up at the first interval tick at least three intervals after it began
  t.equal(net2.ids('a').length, 40, 'a later one did')
  t.same(net2.ids('a'), net2.ids('b'))
  t.ok(two.a.counters.reconcileSessions >= 2)
})

t.test('a difference many times the link\'s queue crosses at the link\'s pace, each envelope once', async t => {
  // 20,000 envelopes each way (about 3 MB) through queues of 256 KiB: before, all but the first
  // 256 KiB were dropped and found again by the next reconciliation, round after round. A pass
  // every second would find the part still on its way again: passes wait while more than
  // `reconcileWaitsForIdsMin` ids move (one pass may come as the last of them arrive).
  await crossOver(t, 20_000, { peerQueueBytesMax: 256 * 1024, reconcileIntervalMs: 1_000 }, { sessionsMax: 2, ratioMax: 3 })
})

t.test('what a peer is owed leaves by precedence, oldest first; cancelled ids are skipped; dropped ones come back first', async t => {
  const owed = new ServeBacklog()
  for (const [k, p] of [['r1', 3], ['f1', 0], ['r2', 3], ['p1', 2], ['f2', 0]] as const) t.ok(owed.add(k, p))
  t.notOk(owed.add('r1', 3), 'owed once')
  t.ok(owed.delete('f2'), 'the peer holds it')
  t.equal(owed.size, 4)
  t.equal(owed.shift(), 'f1'); t.equal(owed.shift(), 'p1')
  owed.putBack('p1'); owed.putBack('f1') // the queue dropped them (newest first)
  t.same([owed.shift(), owed.shift(), owed.shift(), owed.shift(), owed.shift()], ['f1', 'p1', 'r1', 'r2', undefined])
  t.equal(owed.size, 0)
})

t.test('an honest relay far behind takes envelopes far ahead of what it holds: no refusal, no penalty, no cut', async t => {
  const net = new TestNet()
  const a = await net.node('a'); const b = await net.node('b')
  net.connect('a', 'b', { latencyMs: 5, bandwidthBps: 2_000_000 })
  const alice = net.author(1)
  for (let seq = 1; seq <= 10; seq++) await net.post('a', alice, seq)
  await net.run(1_000)
  t.equal(b.probe.catalog.size, 10)
  net.cut('a', 'b') // b is away while alice posts 12,000 more (more than the old window of 10,000)
  const away = 12_000
  for (let seq = 11; seq <= 10 + away; seq++) await net.post('a', alice, seq, { body: new Uint8Array(40) })
  net.connect('a', 'b', { latencyMs: 5, bandwidthBps: 2_000_000 })
  await net.run(50)
  // Flash posts overtake the routine backlog: b gets sequence 12,011 while it holds little past 10.
  for (let seq = 11 + away; seq < 31 + away; seq++) await net.post('a', alice, seq, { precedence: Precedence.flash, body: new Uint8Array(40) })
  await net.run(500)
  const highest = (b.probe.catalog.streams.values().next().value?.highest ?? 0)
  t.ok(highest > 10 + away, `b stored sequence ${highest} far ahead of most of what it holds (${b.probe.catalog.size})`)
  await net.run(60_000)
  t.equal(b.probe.catalog.size, 30 + away, 'b caught up')
  t.equal(b.counters.refused, 0, 'nothing refused')
  t.equal(scoreOf(b, 'a'), 100, 'a was not penalised')
  t.same(net.disconnects, [], 'and the link was never cut')
})

t.test('a malicious author jumping ahead costs one bounded gap check per stream, and nobody is penalised', async t => {
  const net = new TestNet({ gapGraceMs: 1_000, reconcileIntervalMs: 3_600_000 })
  const relay = await net.node('relay'); await net.node('peer')
  net.connect('relay', 'peer', { latencyMs: 2 })
  await net.run(100)
  const asked: Array<[number, number]> = []
  net.link('relay', 'peer')!.tamper = (from, frame) => {
    if (from === 'relay' && frame[0] === FrameType.wantSeq) { const f = decodeFrame(frame); if (f.type === FrameType.wantSeq) asked.push([f.seqFrom, f.seqTo]) }
    return frame
  }
  const mallory = net.author(7)
  const sign = (seq: number, channelByte = 9): Envelope => signEnvelope(crypto, {
    kind: Kind.message, precedence: Precedence.routine, channel: new Uint8Array(8).fill(channelByte), author: authorRef(mallory.publicKey),
    seq, hlc: relay.stamp(), ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(8),
  }, mallory.privateKey)
  // One stream: 1, then ever further jumps up to the largest sequence number there is.
  const jumps = [1, 20_000, 1e9, 1e12, ...Array.from({ length: 40 }, (_, i) => 1e12 + (i + 1) * 1e9), Number.MAX_SAFE_INTEGER]
  for (const seq of jumps) {
    relay.receive('peer', encodeFrame({ type: FrameType.envelope, envelope: sign(seq).bytes }))
    await net.run(1) // each stored before the next arrives
  }
  await net.run(5_000)
  t.equal(relay.probe.catalog.size, jumps.length, 'every signed envelope is stored, however far it jumps')
  t.equal(scoreOf(relay, 'peer'), 100, 'the peer that relayed them is not penalised')
  t.equal(relay.counters.gapRequests, 1, 'all those gaps made one check (one peer: no second ask)')
  t.ok(asked.length <= 32, `${asked.length} wantSeq frames`)
  t.ok(asked.every(([from, to]) => to - from < 1024 && to < Number.MAX_SAFE_INTEGER && from >= Number.MAX_SAFE_INTEGER - 1024), 'asking only for the numbers just below the highest')

  // Many streams at once (channels): pending checks are bounded; the rest is left to reconciliation.
  const streams = gapChecksPendingMax + 200
  const before = relay.counters.gapRequests
  for (let i = 0; i < streams; i++) {
    for (const seq of [1, 3]) { // 2 is missing in every one
      relay.receive('peer', encodeFrame({ type: FrameType.envelope, envelope: signEnvelope(crypto, {
        kind: Kind.message, precedence: Precedence.routine, channel: Uint8Array.from([1, i >> 8, i & 0xff, 0, 0, 0, 0, 0]), author: authorRef(mallory.publicKey),
        seq, hlc: relay.stamp(), ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(8),
      }, mallory.privateKey).bytes }))
    }
  }
  await net.run(5_000)
  t.equal(relay.counters.gapRequests - before, gapChecksPendingMax, `${streams} streams with a gap: ${gapChecksPendingMax} checks, the bound`)
  t.equal(scoreOf(relay, 'peer'), 100)
})

