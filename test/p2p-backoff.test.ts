// PeerBackoff (node/p2p/backoff.ts) on a hand-moved clock: the delay grows with each
// disconnect up to its cap, reconnecting resets nothing, a day without one forgets them, and
// the remembered peers are bounded.
import t from 'tap'
import { PeerBackoff, defaultPeerBackoffLimits } from '../node/p2p/backoff.ts'

t.test('each disconnect keeps the peer away longer, up to the cap; a quiet day forgets', async t => {
  let now = 0
  const b = new PeerBackoff(defaultPeerBackoffLimits, () => now)
  const delays: number[] = []
  for (let i = 0; i < 7; i++) {
    delays.push(b.penalise('p'))
    t.ok(b.remainingMs('p') > 0, 'kept away right after')
    now += delays[i] // it comes back when allowed, and misbehaves again at once
    t.equal(b.remainingMs('p'), 0, 'allowed again once its delay is over')
  }
  t.same(delays, [30_000, 120_000, 480_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000], '30 s, 2 min, 8 min, 32 min, then the 1 h cap')
  t.equal(b.remainingMs('q'), 0, 'other peers are not affected')
  now += defaultPeerBackoffLimits.forgetMs
  t.equal(b.penalise('p'), 30_000, 'after a day without a disconnect, it starts over')
})

t.test('remembered peers are bounded, the oldest penalty forgotten first', async t => {
  const b = new PeerBackoff({ ...defaultPeerBackoffLimits, peersMax: 2 }, () => 0)
  b.penalise('p1'); b.penalise('p2'); b.penalise('p1'); b.penalise('p3')
  t.equal(b.remainingMs('p2'), 0, 'p2 was the oldest')
  t.ok(b.remainingMs('p1') > 0 && b.remainingMs('p3') > 0)
})
