// Refusal summaries (node/audit/repeats.ts): a flood of one refusal is one full entry plus
// one counted summary per window; quiet kinds are forgotten; rotating sources past the
// tracked kinds are counted together; nothing is dropped uncounted; reconnects (repeated
// admissions) are folded per party; other events pass through.
import t from 'tap'
import { RefusalSummaries, remoteHost } from '../node/audit/repeats.ts'
import type { AuditEvent } from '../node/audit/sanitise.ts'

/** A summariser on a manual clock: `tick()` runs the window timer that is due. */
function setup (o: { keysMax?: number, peersMax?: number } = {}): { s: RefusalSummaries, out: AuditEvent[], tick: () => void, pending: () => number } {
  const out: AuditEvent[] = []
  let timers: Array<() => void> = []
  const s = new RefusalSummaries({
    append: (e) => { out.push(e) },
    schedule: (fn) => { timers.push(fn); return () => { timers = timers.filter(f => f !== fn) } },
    windowMs: 60_000,
    ...o,
  })
  return { s, out, tick: () => { const due = timers; timers = []; for (const f of due) f() }, pending: () => timers.length }
}

const refusal = (who: string, remote = '/ip4/10.0.0.7/tcp/50122', reason = 'peer id not in allowlist'): AuditEvent =>
  ({ who, what: 'peer.refused', outcome: 'refused', remote, detail: { reason } })

t.test('the first refusal is written in full; repeats become one summary at the window end', async t => {
  const { s, out, tick } = setup()
  s.record(refusal('p1'))
  for (let i = 0; i < 500; i++) s.record(refusal(i % 2 === 0 ? 'p1' : 'p2', `/ip4/10.0.0.7/tcp/${40000 + i}`))
  t.equal(out.length, 1, 'only the first is written during the window')
  t.same(out[0], refusal('p1'))
  tick()
  t.equal(out.length, 2)
  t.same(out[1], { who: '2 peers', what: 'peer.refused', outcome: 'refused', remote: '/ip4/10.0.0.7', detail: { reason: 'peer id not in allowlist', repeats: 500, windowMs: 60_000, summary: true } })
})

t.test('a flood that goes on is summarised once a window; a quiet kind is forgotten', async t => {
  const { s, out, tick, pending } = setup()
  s.record(refusal('p1'))
  s.record(refusal('p1'))
  tick()
  s.record(refusal('p1')); s.record(refusal('p1')); s.record(refusal('p1'))
  tick()
  t.same(out.map(e => e.detail?.repeats), [undefined, 1, 3], 'first, then one summary per window with its own count')
  t.equal(out[1].who, 'p1', 'one peer: named')
  tick() // a quiet window: no summary, kind forgotten
  t.equal(out.length, 3)
  t.equal(s.tracked, 0)
  t.equal(pending(), 0, 'no timer left once everything is quiet')
  s.record(refusal('p1'))
  t.equal(out.length, 4, 'after a quiet window the next refusal is written in full again')
  t.equal(out[3].detail?.summary, undefined)
})

t.test('kinds are told apart by event type, address (not port) and reason', async t => {
  const { s, out } = setup()
  s.record(refusal('p1', '/ip4/10.0.0.7/tcp/1'))
  s.record(refusal('p1', '/ip4/10.0.0.7/tcp/2'))
  s.record(refusal('p1', '/ip4/10.0.0.8/tcp/1'))
  s.record(refusal('p1', '/ip4/10.0.0.7/tcp/1', 'score below -100: bad frame'))
  s.record({ who: 'p1', what: 'envelope.rejected', outcome: 'refused', detail: { reason: 'signature' } })
  s.record({ who: 'p2', what: 'envelope.rejected', outcome: 'refused', detail: { reason: 'signature' } })
  t.equal(out.length, 5, 'same address on another port is a repeat; the rest are new kinds (no address: by peer)')
  t.equal(remoteHost('/ip6/fe80::1/tcp/4401'), '/ip6/fe80::1')
})

t.test('past keysMax kinds, refusals are counted together per event type, none uncounted', async t => {
  const { s, out, tick } = setup({ keysMax: 4 })
  for (let i = 0; i < 10; i++) s.record(refusal(`p${i}`, `/ip4/10.0.1.${i}/tcp/1`))
  t.equal(out.length, 4, 'four kinds tracked, written in full')
  tick()
  t.equal(out.length, 5)
  t.same(out[4], { who: '6 peers', what: 'peer.refused', outcome: 'refused', detail: { reason: 'more refusal kinds than tracked in one window (rotating addresses or reasons)', repeats: 6, windowMs: 60_000, summary: true } })
})

t.test('distinct peers are counted up to peersMax', async t => {
  const { s, out, tick } = setup({ peersMax: 3 })
  s.record(refusal('p0'))
  for (let i = 0; i < 10; i++) s.record(refusal(`q${i}`))
  tick()
  t.equal(out[1].who, '3+ peers')
  t.equal(out[1].detail?.repeats, 10)
})

t.test('other events pass straight through, every time', async t => {
  const { s, out } = setup()
  for (let i = 0; i < 3; i++) s.record({ who: 'node', what: 'store.purged', outcome: 'ok', detail: { count: i } })
  s.record({ who: 'p1', what: 'peer.refused', outcome: 'failed' })
  s.record({ who: 'p1', what: 'peer.refused', outcome: 'failed' })
  t.equal(out.length, 5)
})

t.test('reconnects are folded: each party\'s repeated admissions become one summary a window', async t => {
  const { s, out, tick } = setup()
  for (let i = 0; i < 40; i++) s.record({ who: 'p1', what: 'peer.accepted', outcome: 'ok' })
  s.record({ who: 'p2', what: 'peer.accepted', outcome: 'ok' })
  for (let i = 0; i < 5; i++) s.record({ who: 'u1', what: 'client.authenticated', outcome: 'ok', remote: '/ip4/127.0.0.1' })
  s.record({ who: 'u2', what: 'client.authenticated', outcome: 'ok', remote: '/ip4/127.0.0.1' })
  t.same(out.map(e => e.who), ['p1', 'p2', 'u1', 'u2'], 'the first of each party in full: two users from one address are two kinds')
  tick()
  t.same(out.slice(4), [
    { who: 'p1', what: 'peer.accepted', outcome: 'ok', detail: { repeats: 39, windowMs: 60_000, summary: true } },
    { who: 'u1', what: 'client.authenticated', outcome: 'ok', remote: '/ip4/127.0.0.1', detail: { repeats: 4, windowMs: 60_000, summary: true } },
  ], 'then one summary for each that repeated, with its count')
})

t.test('close writes the open summaries, cancels the timer, and later refusals are written in full', async t => {
  const { s, out, pending } = setup()
  s.record(refusal('p1')); s.record(refusal('p1'))
  s.close()
  t.same(out.map(e => e.detail?.repeats), [undefined, 1])
  t.equal(pending(), 0)
  s.record(refusal('p1'))
  t.equal(out.length, 3)
})
