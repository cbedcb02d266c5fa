// Peer admission at hello (#29): what a node presents reaches the peer's decision, an
// admitted pair links and exchanges envelopes, a refused peer is told why (bye) and cut
// without a score penalty, and nothing it sends before or after counts.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { utf8, fromUtf8 } from '../protocol/bytes.ts'
import { decodeFrame, FrameType } from '../protocol/frames.ts'
import type { PeerAdmission } from '../protocol/engine/types.ts'

/** Presents `mine`; admits a peer only if it presented one of `accepted`, and records what it saw. */
function admission (mine: string | undefined, accepted: string[], seen: Array<[string, string | undefined]>): PeerAdmission {
  return {
    credentials: () => mine === undefined ? undefined : utf8(mine),
    admit: (peer, credentials) => {
      const text = credentials === undefined ? undefined : fromUtf8(credentials)
      seen.push([peer, text])
      return text !== undefined && accepted.includes(text) ? { ok: true } : { ok: false, reason: `${peer} presented ${text ?? 'nothing'}` }
    },
  }
}

t.test('two nodes that admit each other link and exchange envelopes; each saw the other\'s credentials', async t => {
  const net = new TestNet()
  const seenA: Array<[string, string | undefined]> = []; const seenB: Array<[string, string | undefined]> = []
  await net.node('a', {}, undefined, undefined, admission('cert-a', ['cert-b'], seenA))
  await net.node('b', {}, undefined, undefined, admission('cert-b', ['cert-a'], seenB))
  net.connect('a', 'b')
  await net.run(1_000)
  t.same(seenA, [['b', 'cert-b']]); t.same(seenB, [['a', 'cert-a']])
  t.ok(net.engines.get('a')?.probe.links.get('b')?.ready, 'linked')
  const env = await net.post('a', net.author(1), 1)
  await net.run(1_000)
  t.ok(net.engines.get('b')?.holds(env.id), 'an envelope crossed')
})

t.test('a refused peer hears why, is cut without a penalty, and nothing it sends is stored', async t => {
  const net = new TestNet()
  const seen: Array<[string, string | undefined]> = []
  const gate = await net.node('gate', {}, undefined, undefined, admission('cert-gate', ['cert-ok'], seen))
  const stranger = await net.node('stranger') // no admission port: presents nothing, admits everyone
  const byes: string[] = []
  const link = net.link('gate', 'stranger') ?? (net.connect('gate', 'stranger', { redial: false }), net.link('gate', 'stranger'))
  if (link === undefined) throw new Error('no link')
  link.tamper = (from, frame) => {
    if (from === 'gate' && frame[0] === FrameType.bye) { const f = decodeFrame(frame); if (f.type === FrameType.bye) byes.push(`${f.code}: ${f.reason}`) }
    return frame
  }
  const env = await net.post('stranger', net.author(2), 1)
  await net.run(2_000)
  t.same(seen, [['stranger', undefined]], 'the stranger presented nothing')
  t.same(byes, ['ERR_UNAUTHORISED: stranger presented nothing'], 'told why, in a bye')
  t.ok(net.disconnects.some(d => d.from === 'gate' && d.peer === 'stranger' && d.reason === 'not admitted: stranger presented nothing'), 'cut by the gate')
  t.notOk(gate.probe.links.has('stranger'), 'no link left')
  t.notOk(gate.holds(env.id), 'nothing of the stranger\'s was stored')
  t.equal(gate.counters.peersPenalised, 0, 'no penalty: an honest relay may hold an expired certificate')
  t.equal(stranger.holds(env.id), true)
})
