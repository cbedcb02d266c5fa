// A peer that does not carry a channel says so (`refused`, ERR_UNAUTHORISED), and is not sent
// those envelopes again at every reconciliation (#24): before, a relay whose operator does not
// let it carry a channel received each of its envelopes again every round, for as long as they
// lived. Declined envelopes are offered once more after `declinedForgetMs`, or on a new link.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { declinedForgetMs } from '../protocol/limits.ts'
import { encodeFrame, FrameType } from '../protocol/frames.ts'
import type { Authoriser } from '../protocol/engine/types.ts'

const reconcileMs = 30_000

/**
 * a carries everything; b refuses every envelope by its own policy, one by one (ERR_UNAUTHORISED),
 * or as a channel it does not carry at all (`wholeChannel`, ERR_NOT_CARRIED).
 */
async function pair (wholeChannel = false): Promise<{ net: TestNet, sent: () => number }> {
  const net = new TestNet()
  await net.node('a')
  const base = net.authoriser
  const refusal = { ok: false as const, reason: 'a channel this relay does not carry', carried: false as const, ...(wholeChannel ? { wholeChannel: true as const } : {}) }
  const notCarried: Authoriser = { authorise: env => base.authorise(env).ok ? refusal : base.authorise(env) }
  await net.node('b', {}, undefined, notCarried)
  net.connect('a', 'b')
  await net.run(1_000)
  let sent = 0
  const link = net.link('a', 'b')
  if (link === undefined) throw new Error('no link')
  link.tamper = (from, frame) => { if (from === 'a' && (frame[0] === FrameType.envelope || frame[0] === FrameType.have)) sent++; return frame }
  return { net, sent: () => sent }
}

t.test('what a peer declines is sent once, not at every reconciliation', async t => {
  const { net, sent } = await pair()
  for (let seq = 1; seq <= 5; seq++) await net.post('a', net.author(1), seq, { ttlSeconds: 86_400 })
  await net.run(10 * reconcileMs)
  t.equal(sent(), 5, 'five envelopes, each sent once over ten rounds (55 before)')
  t.equal(net.engines.get('b')?.probe.catalog.size ?? 0, 0, 'b stored none')
  t.equal(net.engines.get('a')?.probe.set.forPeer('b').size, 0, 'a offers b none of them')
  t.equal(net.engines.get('b')?.counters.peersPenalised, 0, 'declining costs nobody anything')
  await net.run(declinedForgetMs)
  t.equal(sent(), 10, 'an hour on, each is offered once more (b may carry the channel now)')
})

t.test('a peer that carries nothing of a channel is sent one envelope of it, then none, pushed or announced', async t => {
  const { net, sent } = await pair(true)
  await net.post('a', net.author(1), 1, { ttlSeconds: 86_400 })
  await net.run(reconcileMs)
  t.equal(sent(), 1, 'the first one went, and was declined for its channel')
  for (let seq = 2; seq <= 5; seq++) await net.post('a', net.author(1), seq, { ttlSeconds: 86_400 })
  await net.run(10 * reconcileMs)
  t.equal(sent(), 1, 'nothing more of that channel went to b')
  t.equal(net.engines.get('a')?.probe.set.forPeer('b').size, 0, 'a offers b none of it')
  await net.run(declinedForgetMs)
  t.equal(sent(), 6, 'an hour on, all five are offered once more')
})

t.test('a new link offers everything again: the peer may carry more since', async t => {
  const { net, sent } = await pair()
  for (let seq = 1; seq <= 3; seq++) await net.post('a', net.author(1), seq)
  await net.run(2 * reconcileMs)
  t.equal(sent(), 3)
  net.cut('a', 'b')
  net.connect('a', 'b')
  let again = 0
  const link = net.link('a', 'b')
  if (link === undefined) throw new Error('no link')
  link.tamper = (from, frame) => { if (from === 'a' && frame[0] === FrameType.envelope) again++; return frame }
  await net.run(2 * reconcileMs)
  t.equal(again, 3, 'sent once more on the new link, then not again')
})

t.test('a decline naming envelopes a relay does not hold changes nothing', async t => {
  const { net } = await pair()
  const a = net.engines.get('a')
  a?.receive('b', encodeFrame({ type: FrameType.refused, code: 'ERR_UNAUTHORISED', ids: [new Uint8Array(32).fill(7)], reason: 'made up' }))
  await net.run(1_000)
  t.equal(a?.probe.set.forPeer('b'), a?.probe.set, 'no narrower view for b')
})
