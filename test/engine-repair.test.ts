// Repair without copies from everyone. A node back from a crash reconciles with every
// neighbour at once, and each holder pushes it the same backlog: it leaves each id to one
// of them and tells the others it has it (`have`), which cancels their queued copies; and
// it pushes nothing it received to a peer that reconciliation showed holds it. A sequence
// gap is asked for run by run, so that peers do not resend what lies between the holes.
// A duplicate that came as a repair push is no evidence against its sender's link: no prune.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { decodeFrame, encodeFrame, FrameType, type Frame } from '../protocol/frames.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import { seqRuns } from '../protocol/engine/gaps.ts'
import { toHex } from '../protocol/bytes.ts'
import { crypto } from './helpers/fixtures.ts'

t.test('seqRuns: runs of consecutive numbers, the first few only: never a run over numbers held', async t => {
  t.same(seqRuns([], 4), [])
  t.same(seqRuns([3], 4), [[3, 3]])
  t.same(seqRuns([3, 5, 6, 7, 9], 4), [[3, 3], [5, 7], [9, 9]])
  t.same(seqRuns([1, 3, 5, 7, 9], 2), [[1, 1], [3, 3]])
  t.same(seqRuns([1, 3, 4, 5, 9], 2), [[1, 1], [3, 5]], 'the last run taken whole')
})

t.test('a node back from a crash takes its backlog once, though two neighbours hold it', async t => {
  const net = new TestNet()
  for (const id of ['h1', 'h2', 'back']) await net.node(id)
  net.connect('h1', 'h2', { latencyMs: 2 })
  await net.run(1_000)
  const alice = net.author(1)
  const backlog = 40
  for (let seq = 1; seq <= backlog; seq++) await net.post('h1', alice, seq, { body: new Uint8Array(400) })
  await net.run(2_000)
  t.equal(net.ids('h2').length, backlog, 'both holders have the backlog')

  net.connect('h1', 'back', { latencyMs: 5, bandwidthBps: 1_000_000 })
  net.connect('h2', 'back', { latencyMs: 5, bandwidthBps: 1_000_000 })
  await net.run(5_000)
  const back = net.engines.get('back')!
  t.equal(net.ids('back').length, backlog, 'it has the whole backlog')
  const dups = [...net.engines.values()].reduce((n, e) => n + e.counters.duplicatesReceived, 0)
  t.ok(dups <= 2, `${dups} duplicates over the three nodes for a backlog of ${backlog} held twice (each holder alone would push all of it: ${backlog})`)
  t.equal(back.counters.gapRequests, 0)
})

t.test('a gap is asked for run by run, never for the numbers between the holes', async t => {
  const net = new TestNet()
  const relay = await net.node('relay'); await net.node('peer')
  net.connect('relay', 'peer')
  await net.run(100)
  const asked: Frame[] = []
  net.link('relay', 'peer')!.tamper = (from, frame) => { if (from === 'relay' && frame[0] === FrameType.wantSeq) asked.push(decodeFrame(frame)); return frame }
  const alice = net.author(1)
  const channel = new Uint8Array(8).fill(9)
  for (const seq of [1, 10, 4, 6, 7]) { // 10 opens the gap 2..9; 4, 6 and 7 arrive within the grace delay
    const env = signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel, author: authorRef(alice.publicKey), seq, hlc: relay.stamp(), ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(8) }, alice.privateKey)
    relay.receive('peer', encodeFrame({ type: FrameType.envelope, envelope: env.bytes }))
    await net.run(1)
  }
  await net.run(relay.probe.config.gapGraceMs + 100)
  t.same(asked.map(f => f.type === FrameType.wantSeq ? [f.seqFrom, f.seqTo] : []).sort((a, b) => a[0] - b[0]), [[2, 3], [5, 5], [8, 9]], 'three runs, nothing we hold')
})

t.test('an envelope expired but not yet purged is never re-synced: not by reconciliation, not on request', async t => {
  const net = new TestNet({ purgeIntervalMs: 3_600_000 }) // no purge within the test
  await net.node('holder'); await net.node('late')
  const env = await net.post('holder', net.author(1), 1, { ttlSeconds: 60 })
  const fresh = await net.post('holder', net.author(1), 2, { ttlSeconds: 3600 })
  await net.run(61_000)
  t.ok(net.ids('holder').includes(Buffer.from(env.id).toString('hex')), 'still held: the purge has not run')

  net.connect('holder', 'late')
  const carried: string[] = []
  net.link('holder', 'late')!.tamper = (from, frame) => {
    if (from === 'holder' && frame[0] === FrameType.envelope) carried.push(Buffer.from(frame.subarray(frame.length - 8)).toString('hex'))
    return frame
  }
  await net.run(2_000)
  const late = net.engines.get('late')!
  t.same(net.ids('late'), [Buffer.from(fresh.id).toString('hex')], 'reconciliation brought only the unexpired envelope')
  net.engines.get('holder')!.receive('late', encodeFrame({ type: FrameType.want, ids: [env.id] }))
  await net.run(1_000)
  t.equal(carried.length, 1, 'one envelope crossed, the unexpired one')
  t.equal(late.counters.expiredOnArrival, 0)
  t.equal(late.counters.peersPenalised, 0, 'the holder was never penalised for sending something stale')
})

t.test('a copy still queued to a peer that just sent us the same envelope is cancelled', async t => {
  const net = new TestNet()
  const a = await net.node('a'); const b = await net.node('b')
  net.connect('a', 'b', { latencyMs: 5, bandwidthBps: 8_000 }) // 1 KB/s: a's queue to b stays long
  await net.run(1_000)
  const alice = net.author(1); const bob = net.author(2)
  for (let seq = 1; seq <= 5; seq++) await net.post('a', alice, seq, { body: new Uint8Array(1000) }) // 5 s of a's link
  // The same five envelopes reach both a and b from elsewhere; b pushes them to a well before a's copies leave.
  const channel = new Uint8Array(8).fill(9)
  const crossing = []
  for (let seq = 1; seq <= 5; seq++) {
    crossing.push(signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel, author: authorRef(bob.publicKey), seq, hlc: a.stamp(), ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(100) }, bob.privateKey))
  }
  for (const env of crossing) { await a.submit(env.bytes); await b.submit(env.bytes) }
  await net.run(20_000)
  t.equal(net.ids('b').length, 10, 'b has everything')
  t.equal(a.counters.duplicatesReceived, 5, 'b pushed the five to a, which already had them')
  t.equal(b.counters.duplicatesReceived, 0, 'a sent b none of them back: its queued copies were cancelled')
})

t.test('envelopes that expire while queued on a slow link are dropped, not sent to cost the sender its link', async t => {
  // 300 B/s and a backlog of 150 envelopes with a 10 s ttl: most expire in the queue. Each
  // expired arrival costs the sender a point, and 101 cost it the link.
  const net = new TestNet()
  const a = await net.node('a'); const b = await net.node('b')
  net.connect('a', 'b', { latencyMs: 50, bandwidthBps: 2_400 })
  await net.run(1_000)
  const alice = net.author(1)
  for (let seq = 1; seq <= 150; seq++) await net.post('a', alice, seq, { ttlSeconds: 10, body: new Uint8Array(100) })
  await net.run(120_000)
  t.equal(b.counters.expiredOnArrival, 0, 'nothing arrived expired')
  t.same(net.disconnects, [], 'the link stayed up')
  const arrived = net.arrivals.filter(x => x.node === 'b').length
  t.ok(arrived > 0 && arrived < 150, `${arrived} arrived in time; the rest expired unsent`)
  t.equal(a.counters.expiredUnsent, 150 - arrived, 'counted where they were dropped')
})

t.test('an envelope that would arrive expired is not sent even on an idle link', async t => {
  // A 15 s link and a 10 s ttl: the link is idle, so the envelope would go straight out, not through the queue.
  const net = new TestNet()
  const a = await net.node('a'); const b = await net.node('b')
  net.connect('a', 'b', { latencyMs: 15_000 })
  await net.run(90_000) // up after the handshake (two round trips, 60 s), ready once b's hello is in (15 s more)
  const alice = net.author(1)
  await net.post('a', alice, 1, { ttlSeconds: 10 })
  const lasting = await net.post('a', alice, 2)
  await net.run(60_000)
  t.equal(a.counters.expiredUnsent, 1, 'the short-lived one was dropped where it was')
  t.same(net.arrivals.filter(x => x.node === 'b').map(x => x.id), [toHex(lasting.id)], 'the other went out')
  t.equal(b.counters.expiredOnArrival, 0, 'nothing arrived expired')
})

t.test("a peer's prune survives our restart; its graft does too", async t => {
  const net = new TestNet()
  let a = await net.node('a'); await net.node('b')
  net.connect('a', 'b')
  await net.run(100)
  const alice = net.author(1)
  await net.post('a', alice, 1) // a prune follows a duplicate: the author is one a holds
  await net.run(100)
  a.receive('b', encodeFrame({ type: FrameType.prune, author: authorRef(alice.publicKey) }))
  await net.run(100)
  const restartAndPost = async (seq: number): Promise<number[]> => {
    a = await net.node('a', {}, net.crash('a'))
    net.connect('a', 'b')
    await net.run(100)
    const types: number[] = []
    net.link('a', 'b')!.tamper = (from, frame) => { if (from === 'a' && (frame[0] === FrameType.envelope || frame[0] === FrameType.have)) types.push(frame[0]); return frame }
    await net.post('a', alice, seq)
    await net.run(1_000) // b has no other path: it asks (want) after the graft delay
    return types
  }
  t.same((await restartAndPost(2)).slice(0, 1), [FrameType.have], 'after the restart, still announced rather than pushed')
  t.equal(net.ids('b').length, 2, 'and b fetched it (its want grafts the author back)')
  t.same(await restartAndPost(3), [FrameType.envelope], 'the graft survived the next restart too: pushed')
})

t.test('two neighbours repaired at once do not both push the backlog on to each other', async t => {
  // x and y are linked; each gets the same backlog by reconciliation from its own side
  // (sx, sy) at the same moment, as when a partition heals. Each pushes it on to the other.
  const net = new TestNet()
  for (const id of ['x', 'y', 'sx', 'sy']) await net.node(id)
  net.connect('x', 'y', { latencyMs: 5, bandwidthBps: 1_000_000 })
  const alice = net.author(1)
  const backlog = 8
  for (let seq = 1; seq <= backlog; seq++) {
    const env = await net.post('sx', alice, seq, { body: new Uint8Array(300) })
    await net.engines.get('sy')!.submit(env.bytes)
  }
  await net.run(1_000)
  net.connect('sx', 'x', { latencyMs: 5, bandwidthBps: 1_000_000 })
  net.connect('sy', 'y', { latencyMs: 5, bandwidthBps: 1_000_000 })
  await net.run(5_000)
  t.equal(net.ids('x').length, backlog); t.equal(net.ids('y').length, backlog)
  const crossed = net.engines.get('x')!.counters.duplicatesReceived + net.engines.get('y')!.counters.duplicatesReceived
  t.ok(crossed <= backlog, `${crossed} duplicates between x and y: one direction at most (both ways: ${2 * backlog})`)
})

t.test('a duplicate that was a reconciliation\'s repair push does not prune; an eager one does', async t => {
  // After a heal a holder's repair push may arrive second (it waits a round trip) though its
  // link is the shortest path: pruning it would leave the author on a detour for good.
  const net = new TestNet()
  for (const id of ['s', 'y', 'z']) await net.node(id)
  const y = net.engines.get('y')!
  net.connect('y', 'z')
  await net.run(1_000)
  const repaired = await net.post('s', net.author(1), 1) // y is not linked to s yet
  net.connect('s', 'y', { latencyMs: 100 })
  const prunes: number[] = []
  const injected = new Set<number>()
  net.link('s', 'y')!.tamper = (sender, frame) => {
    if (sender === 'y' && frame[0] === FrameType.prune) prunes.push(net.clock.now)
    if (sender === 's' && frame[0] === FrameType.envelope && injected.size < 2 && !injected.has(frame.length)) {
      injected.add(frame.length)
      y.receive('z', frame) // the same envelope reaches y from z just before s's copy
    }
    return frame
  }
  await net.run(3_000)
  t.ok(net.ids('y').includes(toHex(repaired.id)), 'y was repaired')
  t.equal(y.counters.duplicatesReceived, 1, 's\'s repair push arrived second, as a duplicate')
  t.same(prunes, [], 'and y did not prune s for it')

  const eager = await net.post('s', net.author(1), 2, { body: new Uint8Array(120) }) // another size: injected again
  await net.run(1_000)
  t.ok(net.ids('y').includes(toHex(eager.id)), 'y holds the eager envelope')
  t.equal(y.counters.duplicatesReceived, 2, 's\'s eager copy arrived second')
  t.equal(prunes.length, 1, 'an eager duplicate prunes s')
})

t.test('a gap is asked of one peer first: three neighbours holding it do not all send it', async t => {
  const net = new TestNet({ gapGraceMs: 500, reconcileIntervalMs: 3_600_000 })
  const relay = await net.node('relay')
  for (const id of ['p1', 'p2', 'p3']) { await net.node(id); net.connect('relay', id) }
  await net.run(100)
  const alice = net.author(1)
  const channel = new Uint8Array(8).fill(9)
  const sign = (seq: number): Uint8Array => signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel, author: authorRef(alice.publicKey), seq, hlc: relay.stamp(), ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(8) }, alice.privateKey).bytes
  const asked = new Map<string, number>()
  for (const id of ['p1', 'p2', 'p3']) {
    for (const seq of [1, 2, 3]) net.engines.get(id)!.receive('relay', encodeFrame({ type: FrameType.envelope, envelope: sign(seq) })) // every neighbour holds 1..3
    net.link('relay', id)!.tamper = (from, frame) => { if (from === 'relay' && frame[0] === FrameType.wantSeq) asked.set(id, (asked.get(id) ?? 0) + 1); return frame }
  }
  await net.run(100)
  relay.receive('p1', encodeFrame({ type: FrameType.envelope, envelope: sign(1) }))
  await net.run(10)
  const before = relay.counters.duplicatesReceived
  relay.receive('p2', encodeFrame({ type: FrameType.envelope, envelope: sign(4) })) // relay lacks 2 and 3: p2 revealed the gap
  await net.run(2_000)
  t.same([...asked], [['p2', 1]], 'asked of p2 alone')
  t.equal(relay.probe.catalog.size, 4, 'and filled')
  t.equal(relay.counters.duplicatesReceived, before, 'with no copy from p1 or p3')
})

