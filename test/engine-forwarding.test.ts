// Forwarding. Relays pass an envelope on while their own write of it is in flight, so a
// hop costs the link and not also a sync write; a crash before the write lands loses only
// the relay's copy, which reconciliation brings back.
//
// The eager-push tree (per-author Plumtree). A tree built while the fast path was slow or
// down must move back to it once it is fast again: a peer whose announcements (`have`)
// beat the eager copies is asked to push eagerly (graft), and the slow path, whose copies
// then arrive second, is pruned. Without that, relay-1 in scenarios/clock-skew.yaml kept
// receiving `slow`'s posts over a 64 kbps detour after the partition healed.
import t, { type Test } from 'tap'
import { TestNet } from './helpers/net.ts'
import { defaultEngineConfig } from '../protocol/engine/types.ts'
import { decodeFrame, encodeFrame, FrameType } from '../protocol/frames.ts'
import { authorRef } from '../protocol/envelope.ts'
import { toHex } from '../protocol/bytes.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { StoreOp } from '../protocol/ports.ts'

/**
 * These tests are about settled links, where push trees form; on a link up for less than
 * `youngLinkMs` relayed envelopes are announced in a mesh instead (test/engine-young-links.test.ts).
 */
const settled = { youngLinkMs: 0 }

/** A memory store whose batches wait while the gate is shut, and are lost if dropped first. */
class GatedStore extends MemoryStore {
  open = true
  #waiting: Array<() => void> = []
  get held (): number { return this.#waiting.length }
  override batch (ops: StoreOp[]): Promise<void> {
    if (this.open) return super.batch(ops)
    return new Promise((resolve, reject) => { this.#waiting.push(() => { super.batch(ops).then(resolve, reject) }) })
  }

  drop (): void { this.#waiting = [] }

  release (): void {
    this.open = true
    const waiting = this.#waiting
    this.#waiting = []
    for (const w of waiting) w()
  }
}

t.test('a relay forwards an envelope before its own write of it lands; a crash then loses only its copy', async t => {
  const net = new TestNet(settled)
  const disk = new GatedStore()
  await net.node('src'); await net.node('relay', {}, disk); await net.node('dst')
  net.connect('src', 'relay', { latencyMs: 5 })
  net.connect('relay', 'dst', { latencyMs: 5 })
  await net.run(1_000)
  disk.open = false
  const env = await net.post('src', net.author(1), 1)
  await net.run(50)
  t.equal(disk.held, 1, 'the relay\'s write is still in flight')
  t.same(net.ids('dst'), [toHex(env.id)], 'yet dst already holds the envelope')
  t.same(net.ids('relay'), [], 'the relay has not indexed it')

  net.crash('relay')
  disk.drop()
  disk.open = true
  await net.node('relay', {}, disk)
  t.same(net.ids('relay'), [], 'the write was lost with the crash')
  net.connect('src', 'relay', { latencyMs: 5 })
  net.connect('relay', 'dst', { latencyMs: 5 })
  await net.run(2_000)
  t.same(net.ids('relay'), [toHex(env.id)], 'reconciliation brought it back')
  t.equal(net.arrivals.filter(a => a.node === 'dst').length, 1, 'dst stored it once')
})

/**
 * src reaches r two ways: through `a` (5 + 5 ms) and through `e` (5 + `detourMs`, 150 by
 * default). The a–r link starts slow (300 ms), so r prunes `a` for src's author; then it
 * is replaced by a 5 ms link.
 */
async function detour (t: Test, quietMs: number, detourMs = 150): Promise<{ net: TestNet, latencies: (from: number) => number[] }> {
  const net = new TestNet(settled)
  for (const id of ['src', 'a', 'e', 'r']) await net.node(id)
  net.connect('src', 'a', { latencyMs: 5 })
  net.connect('src', 'e', { latencyMs: 5 })
  net.connect('e', 'r', { latencyMs: detourMs })
  net.connect('a', 'r', { latencyMs: 300 })
  await net.run(2_000)
  const alice = net.author(1)
  let seq = 0
  const posts: Array<{ id: string, at: number }> = []
  const post = async (): Promise<void> => {
    const env = await net.post('src', alice, ++seq)
    posts.push({ id: toHex(env.id), at: net.clock.now })
    await net.run(1_000)
  }
  for (let i = 0; i < 3; i++) await post()
  t.ok(net.engines.get('r')!.counters.prunesSent >= 1, 'while a–r is slow, r prunes a for this author')
  net.cut('a', 'r')
  net.connect('a', 'r', { latencyMs: 5 })
  await net.run(quietMs)
  for (let i = 0; i < 6; i++) await post()
  const latencies = (from: number): number[] => posts.slice(from).map(p => net.arrivals.find(x => x.node === 'r' && x.id === p.id)!.at - p.at)
  return { net, latencies }
}

t.test('a local client\'s envelope goes out only once durable: a failed submit must not have been sent', async t => {
  const net = new TestNet(settled)
  const disk = new GatedStore()
  await net.node('src', {}, disk); await net.node('dst')
  net.connect('src', 'dst', { latencyMs: 5 })
  await net.run(1_000)
  disk.open = false
  const posting = net.post('src', net.author(1), 1)
  await net.run(50)
  t.same(net.ids('dst'), [], 'nothing sent while the write is in flight')
  disk.release()
  const env = await posting
  await net.run(50)
  t.same(net.ids('dst'), [toHex(env.id)], 'sent once durable')
})

t.test('a relay pushes past the sender\'s own slow link when the path through it is clearly faster', async t => {
  // b reaches d directly over a slow radio hop, and through c over two faster hops (the
  // crash-restart valley): c must push to d although b advertised d as its neighbour.
  const net = new TestNet(settled)
  for (const id of ['b', 'c', 'd']) await net.node(id)
  net.connect('b', 'c', { latencyMs: 10, bandwidthBps: 512_000 })
  net.connect('c', 'd', { latencyMs: 10, bandwidthBps: 512_000 })
  net.connect('b', 'd', { latencyMs: 30, bandwidthBps: 128_000 })
  await net.run(2_000)
  const env = await net.post('b', net.author(1), 1, { body: new Uint8Array(600) })
  const at = net.clock.now
  await net.run(1_000)
  const first = net.arrivals.find(a => a.node === 'd' && a.id === toHex(env.id))!
  t.equal(first.from, 'c', `d got it through c first, after ${(first.at - at).toFixed(1)} ms`)
  t.ok(first.at - at < 60, 'two 512 kbps hops, not the 128 kbps one (about 75 ms)')
})

t.test('a faster announcer is grafted and the slow eager path pruned', async t => {
  const { net, latencies } = await detour(t, defaultEngineConfig.pruneRepeatMs)
  const r = net.engines.get('r')!
  t.ok(r.counters.grafts >= 1, 'r grafted a')
  const after = latencies(3)
  t.ok(after[0] > 150, `the first post after the fast link returns still takes the detour (${after[0]} ms)`)
  t.ok(after.slice(2).every(ms => ms < 20), `later posts take the fast path: ${after.join(', ')} ms`)
  t.equal(net.engines.get('e')!.probe.links.get('r')!.lazyAuthors.size, 1, 'e now announces this author to r instead of pushing')
})

t.test('a detour under graftLeadMs slower is grafted back too, when the lead is over a round trip of the announcer\'s link', async t => {
  // e–r at 60 ms: e's copy comes about 45 ms after a's announcement, under graftLeadMs
  // (100 ms) but over 2 × a–r's 6 ms cost + haveBatchMs (32 ms).
  const { net, latencies } = await detour(t, defaultEngineConfig.pruneRepeatMs, 60)
  t.ok(net.engines.get('r')!.counters.grafts >= 1, 'r grafted a')
  const after = latencies(3)
  t.ok(after.slice(2).every(ms => ms < 20), `later posts take the fast path: ${after.join(', ')} ms`)
})

t.test('no graft within pruneRepeatMs of pruning that author on that link: paths that swap lead would flip back and forth', async t => {
  const { net, latencies } = await detour(t, 2_000)
  t.equal(net.engines.get('r')!.counters.grafts, 0)
  t.ok(latencies(3).every(ms => ms > 150), 'the detour stays for now')
})

t.test('a graft frame turns a pruned author eager again on the receiving link', async t => {
  const net = new TestNet(settled)
  const a = await net.node('a'); await net.node('r')
  net.connect('a', 'r')
  await net.run(100)
  const alice = net.author(1)
  const author = authorRef(alice.publicKey)
  const sent: number[] = []
  await net.post('a', alice, 1) // a prune follows a duplicate: the author is one a holds
  await net.run(100)
  net.link('a', 'r')!.tamper = (from, frame) => { if (from === 'a') sent.push(decodeFrame(frame).type); return frame }
  a.receive('r', encodeFrame({ type: FrameType.prune, author }))
  await net.post('a', alice, 2)
  await net.run(100)
  t.ok(sent.includes(FrameType.have) && !sent.includes(FrameType.envelope), 'pruned: announced, not pushed')
  sent.length = 0
  a.receive('r', encodeFrame({ type: FrameType.graft, author }))
  await net.post('a', alice, 3)
  await net.run(100)
  t.ok(sent.includes(FrameType.envelope), 'grafted: pushed')
})

/** s pushes to siblings b and c, which both reach d (s does not): the kite of #24. */
async function kite (): Promise<TestNet> {
  const net = new TestNet(settled)
  for (const id of ['s', 'b', 'c', 'd']) await net.node(id)
  for (const [x, y] of [['s', 'b'], ['s', 'c'], ['b', 'c'], ['b', 'd'], ['c', 'd']]) net.connect(x, y, { latencyMs: 2, bandwidthBps: 2_000_000 })
  await net.run(2_000)
  return net
}

t.test('of two siblings reaching the same node, only the one that goes first pushes to it (#24)', async t => {
  const net = await kite()
  const alice = net.author(1)
  for (let seq = 1; seq <= 3; seq++) { await net.post('s', alice, seq); await net.run(1_000) }
  const atD = net.arrivals.filter(a => a.node === 'd')
  t.equal(atD.length, 3, 'd got each envelope')
  t.ok(atD.every(a => a.from === 'b'), 'from b, the sibling with the smaller id')
  t.equal(net.engines.get('d')!.counters.duplicatesReceived, 0, 'c announced instead: no copy crossed b\'s')
})

t.test('a sibling that a node asked for an author\'s envelope pushes it that author, though another goes first (#24)', async t => {
  // d pruned b for alice, so b only announces (and those announcements are lost here); c
  // leaves d to b, so it announces too, and d has to ask c.
  const net = await kite()
  const alice = net.author(1)
  const post = async (seq: number): Promise<number> => {
    const env = await net.post('s', alice, seq)
    const at = net.clock.now
    await net.run(1_000)
    return net.arrivals.find(a => a.node === 'd' && a.id === toHex(env.id))!.at - at
  }
  await post(1)
  net.engines.get('b')!.receive('d', encodeFrame({ type: FrameType.prune, author: authorRef(alice.publicKey) }))
  net.link('b', 'd')!.tamper = (from, frame) => from === 'b' && decodeFrame(frame).type === FrameType.have ? null : frame
  t.ok(await post(2) >= defaultEngineConfig.graftDelayMs, 'c announced: d waited the graft delay, then asked c')
  const later = [await post(3), await post(4)]
  t.ok(later.every(ms => ms < 50), `since then c pushes alice's envelopes to d: ${later.join(', ')} ms`)
})
