// Disagreeing clocks. Expiry is judged by network time (our clock plus the median offset of our
// peers), which moves back when the peers change: a purged envelope must still never be stored
// twice, across a restart too, and its id is forgotten only once no network time this node can
// adopt would accept the envelope. Stamps follow network time too. An untimely envelope (expired
// or far-future) costs its honest-but-skewed sender one point, once, however often it is offered.
import t from 'tap'
import fc from 'fast-check'
import { testSeed } from './helpers/seed.ts'
import { decodeServerMessage, encodeServerMessage } from '../node/api/wire.ts'
import { clockPeers, TestNet } from './helpers/net.ts'
import { toHex } from '../protocol/bytes.ts'
import { FrameType, encodeFrame, linkVersion } from '../protocol/frames.ts'
import { clockSkewMsMax } from '../protocol/limits.ts'
import { idKey } from '../protocol/engine/catalog.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import { signEnvelope, authorRef, Kind } from '../protocol/envelope.ts'
import { peerScoreInitial } from '../protocol/limits.ts'
import { crypto } from './helpers/fixtures.ts'
import type { Hlc } from '../protocol/hlc.ts'

const hourMs = 3_600_000
const dayMs = 24 * hourMs

/** A small message of `author`'s stamped `hlc`: what these tests offer or submit. */
function textAt (author: { publicKey: Uint8Array, privateKey: Uint8Array }, seq: number, hlc: Hlc): Uint8Array {
  return signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8), author: authorRef(author.publicKey), seq, hlc, ttlSeconds: 3600, epoch: 0, deps: [], body: new Uint8Array(4) }, author.privateKey).bytes
}

/** Two peers whose clocks read `offsetMs` against ours: with ours, the median offset becomes theirs. */
function laggingPeers (engine: Engine, now: number, offsetMs: number): string[] {
  const peers = ['lag-1', 'lag-2']
  for (const p of peers) {
    engine.linkUp(p, {})
    engine.receive(p, encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs: now + offsetMs }))
  }
  return peers
}

t.test('a purged envelope offered again after network time moved back is a duplicate, not a new delivery', async t => {
  const net = new TestNet({ purgeIntervalMs: 1_000 })
  const a = await net.node('a')
  const alice = net.author(1)
  const short = await net.post('a', alice, 1, { ttlSeconds: 10 })
  await net.post('a', alice, 2)
  await net.run(11_000)
  t.equal(a.counters.purged, 1, 'purged once expired')
  t.ok(a.probe.catalog.tombstones.has(idKey(short.id)), 'its id is remembered')
  t.notOk(a.probe.set.has(short.id), 'but not reconciled: peers that purged it too must not see a difference')

  const [lag] = laggingPeers(a, net.clock.now, -hourMs)
  t.ok(a.probe.networkNowMs() < short.expiresAtMs, 'network time now says the envelope is live again')
  a.receive(lag, encodeFrame({ type: FrameType.envelope, envelope: short.bytes }))
  await net.run(100)
  t.equal(net.arrivals.filter(x => x.node === 'a' && x.id === toHex(short.id)).length, 1, 'stored once, ever')
  t.equal(a.counters.duplicatesReceived, 1)
  t.equal(a.counters.expiredOnArrival, 0, 'and the honest peer is not penalised for it')
  t.equal(a.counters.prunesSent, 0, 'nor asked to prune: it says nothing about eager paths')
})

t.test('the memory survives a restart and ends once our clock less the skew allowance passes the expiry', async t => {
  const net = new TestNet({ purgeIntervalMs: 60_000 })
  await net.node('a')
  const alice = net.author(1)
  const short = await net.post('a', alice, 1, { ttlSeconds: 60 })
  await net.run(2 * 60_000)
  const store = net.crash('a')
  const a = await net.node('a', {}, store)
  t.ok(a.probe.catalog.tombstones.has(idKey(short.id)), 'reloaded')
  t.notOk(a.probe.set.has(short.id), 'still not reconciled after the reload')

  const [lag] = laggingPeers(a, net.clock.now, -hourMs)
  a.receive(lag, encodeFrame({ type: FrameType.envelope, envelope: short.bytes }))
  await net.run(100)
  t.equal(net.arrivals.filter(x => x.node === 'a' && x.id === toHex(short.id)).length, 1, 'not stored again after the restart')

  await net.run(short.expiresAtMs + clockSkewMsMax - net.clock.now - 120_000)
  t.ok(a.probe.catalog.tombstones.has(idKey(short.id)), 'kept while our clock less the allowance is before the expiry')
  await net.run(4 * 60_000)
  t.notOk(a.probe.catalog.tombstones.has(idKey(short.id)), 'forgotten after it')
  const reopened = await net.node('b', {}, net.crash('a'))
  t.notOk(reopened.probe.catalog.tombstones.has(idKey(short.id)), 'on disk too')
})

t.test('a relay a day slow stamps by network time, and absorbs stamps a day ahead of it', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  const day = 24 * hourMs
  const now = net.clock.now
  clockPeers(x, now, [day, day, day])
  t.ok(x.stamp().ms >= now + day, 'stamped at network time, not at its own slow clock')
  const alice = net.author(1)
  await x.submit(textAt(alice, 1, { ms: now + 2 * day, c: 0 }))
  const later = x.stamp()
  t.ok(later.ms >= now + 2 * day, 'a stamp 24 h ahead of network time (48 h of its own clock) is observed')
  t.ok(later.ms > now + 2 * day || later.c > 0, 'and later stamps order after it')
})

t.test('network time moved back past the allowance: our own stamps are still ours to accept', async t => {
  // clock-skew.yaml on seed 49472 crashed its run: peers a day ahead set network time, the
  // relay stamped by it, then day-behind peers replaced them and its own client's next post,
  // stamped by its clock that never moves back, was refused as 47 h in the future.
  const net = new TestNet()
  const x = await net.node('x')
  const now = net.clock.now
  clockPeers(x, now, [dayMs, dayMs, dayMs])
  const stamped = x.stamp()
  clockPeers(x, now, [-dayMs, -dayMs, -dayMs])
  t.ok(stamped.ms - x.probe.networkNowMs() > clockSkewMsMax, 'our clock is now further ahead of network time than the allowance')
  const alice = net.author(1)
  t.ok(await x.submit(textAt(alice, 1, x.stamp())), 'a post stamped by our own clock is accepted')
  await t.rejects(x.submit(textAt(alice, 2, { ms: x.stamp().ms + 2 * dayMs, c: 0 })), { code: 'ERR_CLOCK_SKEW' }, 'one stamped further ahead than our clock allows is still refused')
})

t.test('an untimely envelope costs its sender one point, once, however often it comes', async t => {
  const net = new TestNet()
  const x = await net.node('x'); await net.node('a')
  net.connect('x', 'a')
  await net.run(50)
  const now = net.clock.now
  const alice = net.author(1)
  const far = (seq: number): Uint8Array => textAt(alice, seq, { ms: now + 2 * dayMs, c: 0 })
  const link = x.probe.links.get('a')!
  for (let k = 0; k < 30; k++) x.receive('a', encodeFrame({ type: FrameType.envelope, envelope: far(1) }))
  await net.run(10)
  t.equal(x.counters.refused, 30, 'every copy refused')
  t.equal(Math.floor(link.scoreAt(net.clock.monotonicMs())), peerScoreInitial - 1, 'one point for the one envelope')
  x.receive('a', encodeFrame({ type: FrameType.envelope, envelope: far(2) }))
  t.equal(Math.floor(link.scoreAt(net.clock.monotonicMs())), peerScoreInitial - 2, 'another envelope, another point (less the 10 ms of recovery since the first)')
  t.same(net.disconnects, [], 'an honest peer with a skewed clock stays connected')
})

t.test('hello offsets count the link latency: agreeing clocks over slow links give no correction', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  for (const id of ['p1', 'p2']) { await net.node(id); net.connect('x', id, { latencyMs: 600 }) }
  await net.run(4_000) // the handshake takes two round trips (2.4 s), the hellos 600 ms more
  t.same([...x.probe.links.values()].map(p => p.clockOffsetMs), [0, 0], 'each hello was stamped 600 ms before it arrived')
  t.equal(x.probe.networkNowMs(), net.clock.nowMs(), 'network time is our clock (it was 600 ms behind)')
})

// Issue 19: a link's latency is half its round trip, so an odd round trip makes a half-millisecond
// latency. Network time, the HLC stamps behind the client API's `stamp` and the expiry checks must
// stay whole milliseconds, or the `stamped` reply (and an envelope's 48-bit hlc field) cannot carry them.
t.test('three peers whose round trips are odd ms: network time and stamps stay whole ms', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  const now = net.clock.nowMs()
  clockPeers(x, now, [100, 200, 300], 1.5) // round trips of 3 ms
  t.ok([...x.probe.links.values()].every(p => Number.isInteger(p.clockOffsetMs)), `offsets ${[...x.probe.links.values()].map(p => p.clockOffsetMs).join(', ')}`)
  t.ok(Number.isInteger(x.probe.networkNowMs()), `network time ${x.probe.networkNowMs()}`)
  const stamp = x.stamp()
  t.ok(Number.isInteger(stamp.ms), `stamp ${stamp.ms}.${stamp.c}`)
  t.same(decodeServerMessage(encodeServerMessage({ type: 'stamped', rid: 1, ms: stamp.ms, c: stamp.c })), { type: 'stamped', rid: 1, ms: stamp.ms, c: stamp.c }, 'the client API carries it')
  // A re-measured link (another odd round trip) moves its offset by whole ms too.
  x.linkMeasured('clock-2', { latencyMs: 3.5 })
  t.ok(Number.isInteger(x.probe.networkNowMs()) && Number.isInteger(x.stamp().ms), 'after a re-measure')
  const alice = net.author(1)
  await net.post('x', alice, 1)
  t.equal(x.probe.catalog.size, 1, 'an envelope stamped and checked at network time is stored')
})

t.test('property: any peers, offsets and latencies give whole-ms network time, stamps and expiry checks', async t => {
  const seed = testSeed(t)
  const day = 24 * hourMs
  const peer = fc.record({
    offsetMs: fc.integer({ min: -30 * day, max: 30 * day }),
    // Half of an odd round trip, or any latency a host might report.
    latencyMs: fc.oneof(fc.nat(20_000).map(rtt => (2 * rtt + 1) / 2), fc.double({ min: 0, max: 10_000, noNaN: true })),
    remeasuredMs: fc.option(fc.double({ min: 0, max: 10_000, noNaN: true })),
  })
  await fc.assert(fc.asyncProperty(fc.array(peer, { maxLength: 9 }), fc.nat(999), async (peers, tickMs) => {
    const net = new TestNet()
    const x = await net.node('x')
    await net.run(tickMs + 0.25) // the manual clock sits at a fractional instant; nowMs reads whole ms
    const now = net.clock.nowMs()
    peers.forEach((p, i) => { clockPeers(x, now, peers.slice(0, i + 1).map(q => q.offsetMs), p.latencyMs) })
    peers.forEach((p, i) => { if (p.remeasuredMs !== null) x.linkMeasured(`clock-${i + 1}`, { latencyMs: p.remeasuredMs }) })
    const nowNet = x.probe.networkNowMs()
    const stamp = x.stamp()
    const offsets = [...x.probe.links.values()].map(p => p.clockOffsetMs)
    if (!Number.isInteger(nowNet) || !Number.isInteger(stamp.ms) || !offsets.every(Number.isInteger)) return false
    if (Math.abs(nowNet - now) > clockSkewMsMax) return false
    decodeServerMessage(encodeServerMessage({ type: 'stamped', rid: 1, ms: stamp.ms, c: stamp.c }))
    // An envelope stamped now is timely here (the expiry and far-future checks run at network time).
    const env = await net.post('x', net.author(1), 1, { hlc: stamp })
    return x.probe.catalog.has(env.key)
  }), { seed, numRuns: Number(process.env.DDIL_RUNS ?? 200) })
  t.pass('held for every generated peer set')
})
