// A hostile but allowlisted peer cannot grow a relay's memory without bound (issue 28): the control
// queue to a peer that does not read, the ids awaited from `have` floods, reconciliation sessions,
// prunes (kept in memory and on disk) and the pending pool are each bounded (protocol/limits.ts);
// a peer that goes past a bound is charged and cut, and cannot reset its score by reconnecting.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { crypto } from './helpers/fixtures.ts'
import { decodeFrame, encodeFrame, FrameType, linkVersion } from '../protocol/frames.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import type { Authoriser } from '../protocol/engine/types.ts'
import { idKey } from '../protocol/engine/catalog.ts'
import { initiate, ReconcileSet } from '../protocol/reconcile/index.ts'
import { announcedIdsPerSecondMax, awaitedIdsMax, controlQueueBytesMax, idListItemsMax, lazyAuthorsPerPeerMax, peerScoreDisconnectBelow, reconcileSessionsPerMinuteMax } from '../protocol/limits.ts'
import { toHex } from '../protocol/bytes.ts'

const hello = (nowMs: number): Uint8Array => encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs })
const ids = (n: number, salt: number): Uint8Array[] => Array.from({ length: n }, (_, i) => crypto.sha256(new Uint8Array([salt, i & 255, (i >> 8) & 255, (i >> 16) & 255])))

/** A peer that says hello and then never reads: the engine's sends to it are refused (there is no link), so its frames queue. */
function deafPeer (x: Engine, id: string, nowMs: number): void {
  x.linkUp(id, {})
  x.receive(id, hello(nowMs))
}

t.test('a peer that does not read is cut once its control frames pass the bound', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  deafPeer(x, 'deaf', net.clock.nowMs())
  // Announcements at the rate a peer may make them; each id we lack is wanted after the graft delay, and the wants pile up unread.
  const perFrame = announcedIdsPerSecondMax / 4
  const seconds = Math.ceil(controlQueueBytesMax / (32 * announcedIdsPerSecondMax)) + 4
  for (let f = 0; f < 4 * seconds && x.probe.links.has('deaf'); f++) {
    x.receive('deaf', encodeFrame({ type: FrameType.have, ids: ids(perFrame, f) }))
    await net.run(250)
  }
  t.notOk(x.probe.links.has('deaf'), 'cut')
  t.match(net.disconnects.find(d => d.peer === 'deaf')?.reason ?? '', /does not read/)
})

t.test('announcements are bounded per peer by rate, and awaited ids across peers by number', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  const peers = Array.from({ length: Math.ceil(awaitedIdsMax / (2 * announcedIdsPerSecondMax)) + 4 }, (_, i) => `p${i}`)
  for (const p of peers) { await net.node(p); net.connect('x', p) }
  await net.run(100)
  let wanted = 0
  for (const p of peers) net.link('x', p)!.tamper = (from, frame) => { const f = decodeFrame(frame); if (from === 'x' && f.type === FrameType.want) wanted += f.ids.length; return frame }
  // Each peer announces far more at once than its burst allows.
  for (const [i, p] of peers.entries()) {
    for (let f = 0; f < 8; f++) x.receive(p, encodeFrame({ type: FrameType.have, ids: ids(idListItemsMax, 8 * i + f) }))
  }
  await net.run(1_000)
  t.ok(wanted <= awaitedIdsMax, `wanted ${wanted} ids of ${peers.length * 8 * idListItemsMax} announced: at most ${awaitedIdsMax} awaited at once`)
  t.ok(wanted >= awaitedIdsMax - 2 * announcedIdsPerSecondMax, 'each peer\'s burst was taken until the bound')
  t.same(net.disconnects, [], 'announcing is not charged: what is dropped is left to reconciliation')
})

t.test('a peer opening reconciliation sessions faster than the bound is charged and cut; an honest pace is not', async t => {
  const net = new TestNet()
  const x = await net.node('x') // the larger id answers: x is the responder to 'a…' peers
  await net.node('a-honest'); await net.node('a-flood')
  net.connect('x', 'a-honest'); net.connect('x', 'a-flood')
  await net.run(100)
  const set = new ReconcileSet()
  for (const id of ids(50, 7)) set.add(idKey(id))
  const open = (from: string, session: number): void => { x.receive(from, encodeFrame({ type: FrameType.reconcile, session, payload: initiate(set, { frameBytesMax: 4096 }).message })) }
  for (let minute = 0; minute < 60; minute++) { open('a-honest', 1000 + minute); await net.run(30_000); open('a-honest', 5000 + minute); await net.run(30_000) }
  t.ok(x.probe.links.has('a-honest'), 'two sessions a minute for an hour: still linked')
  t.same(net.disconnects.filter(d => d.peer === 'a-honest'), [])
  for (let s = 0; s < 4 * reconcileSessionsPerMinuteMax && x.probe.links.has('a-flood'); s++) open('a-flood', 10_000 + s)
  t.notOk(x.probe.links.has('a-flood'), 'a session flood is cut')
  t.match(net.disconnects.find(d => d.peer === 'a-flood')?.reason ?? '', /faster than/)
})

t.test('prunes naming authors we hold nothing of are charged, and none is kept; one peer\'s prunes are bounded', async t => {
  const net = new TestNet()
  const x = await net.node('x'); await net.node('p')
  net.connect('x', 'p')
  await net.run(100)
  const alice = net.author(1)
  await net.post('x', alice, 1)
  await net.run(100)
  x.receive('p', encodeFrame({ type: FrameType.prune, author: authorRef(alice.publicKey) }))
  t.ok(x.probe.lazyAuthors('p').has(idKey(authorRef(alice.publicKey))), 'a prune of an author we hold is kept')
  for (let i = 0; i < 200 && x.probe.links.has('p'); i++) x.receive('p', encodeFrame({ type: FrameType.prune, author: crypto.sha256(new Uint8Array([i])).slice(0, 8) }))
  t.notOk(x.probe.links.has('p'), 'random-author prunes cost the peer its link')
  t.equal(x.probe.lazyAuthors('p').size, 1, 'and none of them was kept')
  const reopened = await net.node('x2', {}, net.crash('x'))
  t.equal(reopened.probe.lazyAuthors('p').size, 1, 'nor written to disk')
})

t.test('one peer\'s prunes are bounded, even of authors we hold', async t => {
  const net = new TestNet()
  const x = await net.node('x'); await net.node('p')
  net.connect('x', 'p')
  await net.run(100)
  const authors = Array.from({ length: lazyAuthorsPerPeerMax + 1 }, (_, i) => {
    const keys = crypto.ed25519KeyPair(crypto.sha256(new Uint8Array([i & 255, i >> 8])))
    net.keys.set(toHex(authorRef(keys.publicKey)), keys.publicKey)
    return keys
  })
  for (const a of authors) await net.post('x', a, 1)
  await net.run(100)
  for (const a of authors) x.receive('p', encodeFrame({ type: FrameType.prune, author: authorRef(a.publicKey) }))
  t.equal(x.probe.lazyAuthors('p').size, lazyAuthorsPerPeerMax, `at most ${lazyAuthorsPerPeerMax} kept`)
  t.ok(x.probe.links.has('p'), 'one prune over the bound costs a point, not the link')
})

t.test('a flood of envelopes of unknown authors pushes out the flooder\'s own, costs it, and names it', async t => {
  const known = new Map<string, Uint8Array>()
  const authoriser: Authoriser = { authorise: env => { const k = known.get(toHex(env.author)); return k === undefined ? { ok: false, pending: true, reason: 'unknown author' } : { ok: true, publicKey: k } } }
  const refusedFrom: Array<string | undefined> = []
  const net = new TestNet({}, { refused: (_r, _d, peer) => { refusedFrom.push(peer) } })
  const x = await net.node('x', {}, undefined, authoriser)
  await net.node('honest'); await net.node('flood')
  net.connect('x', 'honest'); net.connect('x', 'flood')
  await net.run(100)
  const stranger = crypto.ed25519KeyPair(new Uint8Array(32).fill(9))
  const env = (seq: number, channel: number): Uint8Array => signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8).fill(channel), author: authorRef(stranger.publicKey), seq, hlc: x.stamp(), ttlSeconds: 600, epoch: 0, deps: [], body: new Uint8Array(16) }, stranger.privateKey).bytes
  const awaited = env(1, 1) // the honest peer's: its channel's governance is on its way
  x.receive('honest', encodeFrame({ type: FrameType.envelope, envelope: awaited }))
  for (let i = 0; i < 6000 && x.probe.links.has('flood'); i++) x.receive('flood', encodeFrame({ type: FrameType.envelope, envelope: env(i + 2, 2) }))
  await net.run(100)
  t.notOk(x.probe.links.has('flood'), 'the flooder is cut')
  t.ok(refusedFrom.length > 0 && refusedFrom.every(p => p === 'flood'), `every drop from the pending pool is charged to the flooder (${refusedFrom.length})`)
  known.set(toHex(authorRef(stranger.publicKey)), stranger.publicKey)
  x.retryPending()
  await net.run(100)
  t.equal(x.probe.catalog.size >= 1 && x.probe.catalog.has(idKey(crypto.sha256(awaited))), true, 'the honest peer\'s envelope kept its place and is stored once its author is known')
})

t.test('a peer cut for its score is cut again on reconnecting, until its score has recovered', async t => {
  const net = new TestNet()
  const x = await net.node('x')
  deafPeer(x, 'bad', net.clock.nowMs())
  for (let i = 0; i < 11 && x.probe.links.has('bad'); i++) x.receive('bad', new Uint8Array([250, 1, 2]))
  t.notOk(x.probe.links.has('bad'), 'cut after eleven junk frames')
  deafPeer(x, 'bad', net.clock.nowMs())
  t.notOk(x.probe.links.has('bad'), 'reconnecting does not reset its score')
  t.match(net.disconnects.at(-1)?.reason ?? '', new RegExp(`still below ${peerScoreDisconnectBelow}`))
  await net.run(2 * 3_600_000)
  deafPeer(x, 'bad', net.clock.nowMs())
  t.ok(x.probe.links.has('bad'), 'two hours later it is let back in')
})
