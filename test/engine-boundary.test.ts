// The boundary between organisations in the engine (#29), ping-pong on virtual time: a chain
// w1 – wg | cg – c1, where wg and cg are the two organisations' gateways. What wg's policy
// keeps from the partner is never sent; what cg's policy refuses is not stored there; either
// way the reason travels back to w1, where the author submitted it, once. A verdict that only
// makes an envelope wait (a rate) is judged again at the next reconciliation.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { toHex } from '../protocol/bytes.ts'
import { Precedence } from '../protocol/envelope.ts'
import { decodeFrame, encodeFrame, FrameType } from '../protocol/frames.ts'
import type { BoundaryPolicy, EngineEvents } from '../protocol/engine/types.ts'
import type { Envelope } from '../protocol/envelope.ts'

const reconcileMs = 30_000

interface Rules { across: Record<string, string>, out?: (env: Envelope) => string | undefined, in?: (env: Envelope) => string | undefined, wait?: (env: Envelope) => boolean }

function policy (rules: Rules): BoundaryPolicy {
  return {
    partner: (peer) => rules.across[peer],
    judge (_peer, env, direction) {
      if (direction === 'in' && rules.wait?.(env) === true) return { reason: 'over the rate', wait: true }
      const reason = direction === 'out' ? rules.out?.(env) : rules.in?.(env)
      return reason === undefined ? undefined : { reason, wait: false }
    },
  }
}

async function chain (waitOnce?: Set<string>): Promise<{ net: TestNet, crossings: Array<[string, string, string]> }> {
  const crossings: Array<[string, string, string]> = []
  const events: Partial<EngineEvents> = { crossingRefused: (env, peer, _reason, direction) => { crossings.push([toHex(env.id), peer, direction]) } }
  const net = new TestNet({}, events)
  const plain = policy({ across: {} })
  await net.node('w1', {}, undefined, undefined, undefined, plain)
  await net.node('wg', {}, undefined, undefined, undefined, policy({ across: { cg: 'County EM' }, out: env => env.precedence === Precedence.flash ? 'no flash out' : undefined }))
  await net.node('cg', {}, undefined, undefined, undefined, policy({
    across: { wg: 'Water utility' },
    in: env => env.body.length > 500 ? 'too large to come in' : undefined,
    wait: env => waitOnce?.delete(env.key) === true,
  }))
  await net.node('c1', {}, undefined, undefined, undefined, plain)
  net.connect('w1', 'wg'); net.connect('wg', 'cg'); net.connect('cg', 'c1')
  await net.run(1_000)
  return { net, crossings }
}

t.test('what policy lets cross does; a withheld and a refused envelope are told back to their author\'s relay, once', async t => {
  const { net, crossings } = await chain()
  const author = net.author(1)
  const ok = await net.post('w1', author, 1)
  const flash = await net.post('w1', author, 2, { precedence: Precedence.flash })
  const large = await net.post('w1', author, 3, { body: new Uint8Array(800).fill(3) })
  let largeSent = 0
  const link = net.link('wg', 'cg')
  if (link === undefined) throw new Error('no link')
  link.tamper = (from, frame) => {
    if (from === 'wg' && frame[0] === FrameType.envelope) { const f = decodeFrame(frame); if (f.type === FrameType.envelope && f.envelope.length === large.bytes.length) largeSent++ }
    return frame
  }
  await net.run(4 * reconcileMs) // several reconciliation rounds: each offers the refused ones again
  t.ok(net.engines.get('c1')?.holds(ok.id), 'the routine message crossed to c1')
  for (const node of ['w1', 'wg']) t.ok(net.engines.get(node)?.holds(flash.id) && net.engines.get(node)?.holds(large.id), `${node}, on this side, holds both refused messages`)
  t.notOk(net.engines.get('cg')?.holds(flash.id), 'wg never sent the flash message across')
  t.notOk(net.engines.get('cg')?.holds(large.id), 'cg refused the large one')
  t.equal(largeSent, 1, 'once refused, the large one is not sent again')
  t.same(crossings.sort(), [[toHex(flash.id), 'cg', 'out'], [toHex(large.id), 'wg', 'in']].sort(), 'each refusal judged and reported once, where it was made')
  const told = net.refusedBeyond.filter(r => r.node === 'w1')
  t.same(told.map(r => [r.id, r.reason]).sort(), [
    [toHex(flash.id), 'kept from County EM by our gateway: no flash out'],
    [toHex(large.id), 'refused at County EM\'s gateway: too large to come in'],
  ].sort(), 'the author\'s relay heard both reasons, once each')
  t.equal(net.engines.get('wg')?.counters.crossingsRefused, 1)
  t.equal(net.engines.get('cg')?.counters.crossingsRefused, 1)
  t.equal(net.engines.get('cg')?.counters.peersPenalised, 0, 'a refusal at a boundary costs the partner nothing')
  // Reconciliation across the boundary is scoped: the two refused envelopes left wg's view of
  // its set for cg, so both gateways reconcile equal sets and find no difference any more.
  const wgSet = net.engines.get('wg')?.probe.set
  const cgSet = net.engines.get('cg')?.probe.set
  if (wgSet === undefined || cgSet === undefined) throw new Error('no engines')
  t.equal(wgSet.size, cgSet.size + 2, 'wg holds the two envelopes cg does not')
  t.equal(wgSet.forPeer('cg').size, cgSet.forPeer('wg').size, 'but offers cg only what may cross')
  t.same([...wgSet.forPeer('cg').symbols], [...cgSet.forPeer('wg').symbols], 'the same coded symbols: nothing to find')
  t.equal(wgSet.forPeer('w1'), wgSet, 'on its own side, wg offers everything')
})

t.test('an envelope that waits (a rate) is not refused: it crosses at a later round, and nobody is told', async t => {
  const waitOnce = new Set<string>()
  const { net, crossings } = await chain(waitOnce)
  const author = net.author(2)
  const env = await net.post('w1', author, 1, { body: new Uint8Array(50).fill(1) })
  // Posted, then made to wait at cg on its first arrival only.
  waitOnce.add(env.key)
  await net.run(200)
  t.notOk(net.engines.get('cg')?.holds(env.id), 'it waits at first')
  await net.run(2 * reconcileMs)
  t.ok(net.engines.get('c1')?.holds(env.id), 'it crossed at a later round')
  t.same(crossings, [], 'no refusal was recorded')
  t.same(net.refusedBeyond, [], 'nobody was told of a refusal')
})

t.test('a gateway never names to the partner what its policy keeps: no announcement, even for an author the partner pruned', async t => {
  const { net } = await chain()
  const author = net.author(3)
  const first = await net.post('w1', author, 1)
  await net.run(1_000)
  t.ok(net.engines.get('cg')?.holds(first.id), 'the first message crossed')
  // The county gateway asks for this author's envelopes to be announced rather than pushed (as after a duplicate).
  net.engines.get('wg')?.receive('cg', encodeFrame({ type: FrameType.prune, author: first.author }))
  const named: string[] = []
  const link = net.link('wg', 'cg')
  if (link === undefined) throw new Error('no link')
  link.tamper = (from, frame) => {
    if (from === 'wg' && frame[0] === FrameType.have) { const f = decodeFrame(frame); if (f.type === FrameType.have) named.push(...f.ids.map(toHex)) }
    return frame
  }
  const flash = await net.post('w1', author, 2, { precedence: Precedence.flash })
  const routine = await net.post('w1', author, 3)
  await net.run(3 * reconcileMs)
  t.notOk(named.includes(toHex(flash.id)), 'the withheld flash message was never announced to the partner')
  t.ok(net.engines.get('c1')?.holds(routine.id), 'the routine one crossed')
  t.notOk(net.engines.get('cg')?.holds(flash.id))
})

t.test('a refusal naming an envelope this relay does not hold is not passed on', async t => {
  const { net } = await chain()
  const invented = new Uint8Array(32).fill(0xee)
  net.engines.get('wg')?.receive('cg', encodeFrame({ type: FrameType.refused, code: 'ERR_POLICY', ids: [invented], reason: 'a partner making things up' }))
  await net.run(1_000)
  t.same(net.refusedBeyond, [], 'nobody was told')
})

t.test('after the policy changes, what it kept is judged again: a message a looser policy lets out crosses', async t => {
  const rules: Rules = { across: { cg: 'County EM' }, out: env => env.precedence === Precedence.flash ? 'no flash out' : undefined }
  const crossings: string[] = []
  const net = new TestNet({}, { crossingRefused: (env, peer, _reason, direction) => { crossings.push(`${toHex(env.id)} ${peer} ${direction}`) } })
  await net.node('wg', {}, undefined, undefined, undefined, policy(rules))
  await net.node('cg', {}, undefined, undefined, undefined, policy({ across: { wg: 'Water utility' } }))
  net.connect('wg', 'cg')
  await net.run(1_000)
  const flash = await net.post('wg', net.author(5), 1, { precedence: Precedence.flash })
  await net.run(2 * reconcileMs)
  t.notOk(net.engines.get('cg')?.holds(flash.id), 'kept in')
  t.equal(net.engines.get('wg')?.probe.set.forPeer('cg').size, 0, 'and out of what wg reconciles with cg')
  rules.out = undefined
  net.engines.get('wg')?.boundaryChanged()
  await net.run(2 * reconcileMs)
  t.ok(net.engines.get('cg')?.holds(flash.id), 'once flash may leave, it crosses at the next reconciliation')
  t.same(crossings, [`${toHex(flash.id)} cg out`], 'the one refusal was made under the old policy')
})
