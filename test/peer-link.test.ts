// One link's outbound bookkeeping: which envelopes it sent recently (not re-served for
// 15 s unless the peer asks), and that this memory stays bounded in time and in size.
import t from 'tap'
import { PeerLink, type OutEnvelope } from '../protocol/engine/peer.ts'
import { newPeerMemory } from '../protocol/engine/peer-memory.ts'
import { newCounters } from '../protocol/engine/types.ts'
import type { Transport } from '../protocol/ports.ts'
import { resendAfterMs, sentIdsRememberedMax } from '../protocol/limits.ts'


function link (): { link: PeerLink, frames: Uint8Array[], send: (keys: string[], nowMs: number, force?: boolean) => void } {
  const frames: Uint8Array[] = []
  const transport: Transport = { send: (_peer, frame) => { frames.push(frame); return true }, disconnect () {} }
  const l = new PeerLink('peer', 'ref', {}, 1 << 30, newPeerMemory())
  const counters = newCounters()
  const send = (keys: string[], nowMs: number, force = false): void => {
    for (const key of keys) {
      const item: OutEnvelope = { id: new Uint8Array(32), key, bytes: new Uint8Array([1, 2, 3]), expiresAtMs: Infinity }
      l.enqueue(3, item, force, nowMs)
    }
    l.pump(transport, counters, nowMs, nowMs)
  }
  return { link: l, frames, send }
}

t.test('a sent id is not queued again within the resend horizon, and is after it', async t => {
  const { link: l, frames, send } = link()
  send(['a'], 0)
  t.equal(frames.length, 1)
  send(['a'], resendAfterMs - 1)
  t.equal(frames.length, 1, 'just sent: not again')
  t.ok(l.sentRecently('a', resendAfterMs - 1))
  send(['a'], resendAfterMs)
  t.equal(frames.length, 2, 'past the horizon: sent again')
})

t.test('a re-sent id keeps its newer time when the older send is forgotten', async t => {
  const { link: l, send } = link()
  send(['a'], 0)
  send(['a'], 10_000, true) // the peer asked for it again
  send(['b'], 16_000) // forgets sends older than 1 s: the first send of 'a', not the second
  t.ok(l.sentRecently('a', 16_000), 'still sent 6 s ago')
  t.notOk(l.sentRecently('a', 25_000), 'forgotten 15 s after the second send')
  t.equal(l.sentRemembered, 2, 'one entry per id')
})

t.test('the memory of sent ids is bounded by the horizon and by a cap', async t => {
  const { link: l, send } = link()
  const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`)
  for (let i = 0; i < keys.length; i += 500) send(keys.slice(i, i + 500), 0)
  t.equal(l.sentRemembered, sentIdsRememberedMax, 'at most the cap')
  t.notOk(l.sentRecently('k0', 1), 'the oldest were forgotten first')
  t.ok(l.sentRecently('k9999', 1), 'the newest are remembered')
  send(['late'], resendAfterMs)
  t.equal(l.sentRemembered, 1, 'everything older than the horizon is forgotten at the next send')
})
