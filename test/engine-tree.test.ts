// The eager-push tree (per-author Plumtree). A tree built while the fast path was slow or
// down must move back to it once it is fast again: a peer whose announcements (`have`)
// beat the eager copies is asked to push eagerly (graft), and the slow path, whose copies
// then arrive second, is pruned. Without that, relay-1 in scenarios/clock-skew.yaml kept
// receiving `slow`'s posts over a 64 kbps detour after the partition healed.
import t, { type Test } from 'tap'
import { TestNet } from './helpers/net.ts'
import { decodeFrame, encodeFrame, FrameType } from '../protocol/frames.ts'
import { authorRef } from '../protocol/envelope.ts'
import { toHex } from '../protocol/bytes.ts'

/**
 * src reaches r two ways: through `a` (5 + 5 ms) and through `e` (5 + 150 ms). The a–r link
 * starts slow (300 ms), so r prunes `a` for src's author; then it is replaced by a 5 ms link.
 */
async function detour (t: Test): Promise<{ net: TestNet, latencies: (from: number) => number[] }> {
  const net = new TestNet()
  for (const id of ['src', 'a', 'e', 'r']) await net.node(id)
  net.connect('src', 'a', { latencyMs: 5 })
  net.connect('src', 'e', { latencyMs: 5 })
  net.connect('e', 'r', { latencyMs: 150 })
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
  await net.run(2_000)
  for (let i = 0; i < 6; i++) await post()
  const latencies = (from: number): number[] => posts.slice(from).map(p => net.arrivals.find(x => x.node === 'r' && x.id === p.id)!.at - p.at)
  return { net, latencies }
}

t.test('a faster announcer is grafted and the slow eager path pruned', async t => {
  const { net, latencies } = await detour(t)
  const r = net.engines.get('r')!
  t.ok(r.counters.grafts >= 1, 'r grafted a')
  const after = latencies(3)
  t.ok(after[0] > 150, `the first post after the fast link returns still takes the detour (${after[0]} ms)`)
  t.ok(after.slice(2).every(ms => ms < 20), `later posts take the fast path: ${after.join(', ')} ms`)
  t.equal(net.engines.get('e')!.peers.get('r')!.lazyAuthors.size, 1, 'e now announces this author to r instead of pushing')
})

t.test('a graft frame turns a pruned author eager again on the receiving link', async t => {
  const net = new TestNet()
  const a = await net.node('a'); await net.node('r')
  net.connect('a', 'r')
  await net.run(100)
  const alice = net.author(1)
  const author = authorRef(alice.publicKey)
  const sent: number[] = []
  net.link('a', 'r')!.tamper = (from, frame) => { if (from === 'a') sent.push(decodeFrame(frame).type); return frame }
  a.receive('r', encodeFrame({ type: FrameType.prune, author }))
  await net.post('a', alice, 1)
  await net.run(100)
  t.ok(sent.includes(FrameType.have) && !sent.includes(FrameType.envelope), 'pruned: announced, not pushed')
  sent.length = 0
  a.receive('r', encodeFrame({ type: FrameType.graft, author }))
  await net.post('a', alice, 2)
  await net.run(100)
  t.ok(sent.includes(FrameType.envelope), 'grafted: pushed')
})
