// Admission of unproven connections (node/admission.ts) on a clock driven by hand: the
// per-source bound, the reserve for known sources, eviction of the oldest rather than
// refusal of the newcomer, and the short deadline under pressure. Each drop is reported.
import t from 'tap'
import { Admission, RecentSources, droppedForSlots, droppedForSource, droppedUnderPressure, sourceOf, type AdmissionLimits } from '../node/admission.ts'

const limits: AdmissionLimits = { pendingMax: 4, reservedMax: 2, perSourceMax: 2, pressuredTimeoutMs: 1000 }

function setup (known: string[] = []) {
  const timers: Array<{ at: number, fn: () => void, live: boolean }> = []
  let now = 0
  const clock = { schedule: (ms: number, fn: () => void) => { const x = { at: now + ms, fn, live: true }; timers.push(x); return () => { x.live = false } } }
  const dropped: Array<[string, string]> = []
  const closed: string[] = []
  const admission = new Admission({ limits, clock, isKnown: s => known.includes(s), onDrop: (s, why) => { dropped.push([s, why]) } })
  const admit = (name: string, source: string) => admission.admit(source, () => { closed.push(name) })
  const advance = (ms: number): void => {
    now += ms
    for (const x of timers) if (x.live && x.at <= now) { x.live = false; x.fn() }
  }
  return { admission, admit, advance, dropped, closed }
}

t.test('one source holds at most perSourceMax; its own oldest makes way', async t => {
  const { admission, admit, dropped, closed } = setup()
  admit('a1', '/ip4/10.0.0.9'); admit('a2', '/ip4/10.0.0.9'); admit('a3', '/ip4/10.0.0.9')
  t.same(closed, ['a1'])
  t.same(dropped, [['/ip4/10.0.0.9', droppedForSource]])
  admit('b1', '/ip4/10.0.0.1')
  t.equal(admission.pending, 3, 'others are not touched')
})

t.test('when the slots are full, the oldest unproven connection makes way for the newcomer', async t => {
  const { admit, closed } = setup()
  const tickets = ['a', 'b', 'c', 'd'].map((n, i) => admit(n, `/ip4/10.0.0.${i}`))
  tickets[0].done() // proved itself: no longer in anyone's way
  admit('e', '/ip4/10.0.0.5')
  t.same(closed, [], 'a freed slot is taken without a drop')
  admit('f', '/ip4/10.0.0.6')
  t.same(closed, ['b'], 'the oldest still unproven goes')
  tickets[1].done()
  t.same(closed, ['b'], 'done after a drop changes nothing')
})

t.test('known sources have a reserve that strangers cannot take', async t => {
  const friend = '/ip4/192.0.2.7'
  const { admission, admit, closed } = setup([friend])
  for (let i = 0; i < 8; i++) admit(`x${i}`, `/ip4/10.0.1.${i}`)
  t.equal(admission.pending, 4, 'strangers fill the shared slots and evict each other')
  admit('f1', friend); admit('f2', friend)
  t.equal(admission.pending, 6, 'the friend uses the reserve: no stranger dropped')
  t.same(closed, ['x0', 'x1', 'x2', 'x3'])
  admit('f3', friend)
  t.same(closed.slice(4), ['f1'], 'a full reserve drops its own oldest, not the shared slots')
  admit('x9', '/ip4/10.0.1.9')
  t.same(closed.slice(5), ['x4'], 'a stranger never evicts from the reserve')
})

t.test('under pressure, a handshake slower than pressuredTimeoutMs is dropped; without pressure it may take its time', async t => {
  const { admit, advance, dropped, closed } = setup()
  admit('slow', '/ip4/10.0.0.1')
  advance(1000)
  advance(1000)
  t.same(closed, [], 'one of four slots taken: no pressure, it may take its time')
  admit('p', '/ip4/10.0.0.2')
  const q = admit('q', '/ip4/10.0.0.3')
  advance(999)
  t.same(closed, [], 'nobody is over the deadline yet')
  advance(1)
  t.same(closed, ['slow', 'p'], 'half the slots taken: the slow ones go, oldest first, until the pressure is off')
  t.same(dropped.map(d => d[1]), [droppedUnderPressure, droppedUnderPressure])
  q.done()
  advance(5000)
  t.same(closed, ['slow', 'p'])
})

t.test('a known source may be slow under pressure', async t => {
  const friend = '/ip4/192.0.2.7'
  const { admit, advance, closed } = setup([friend])
  admit('f', friend)
  admit('x', '/ip4/10.0.0.1'); admit('y', '/ip4/10.0.0.2')
  advance(1000)
  t.same(closed, ['x', 'y'], 'the slow strangers go; the friend, as slow, stays')
  advance(10_000)
  t.same(closed, ['x', 'y'])
})

t.test('drops for full slots are reported with the evicted source', async t => {
  const { admit, dropped } = setup()
  for (let i = 0; i < 5; i++) admit(`x${i}`, `/ip4/10.0.2.${i}`)
  t.same(dropped, [['/ip4/10.0.2.0', droppedForSlots]])
})

t.test('sources: socket addresses in the form of libp2p addresses; recent sources bounded', async t => {
  t.equal(sourceOf('127.0.0.1'), '/ip4/127.0.0.1')
  t.equal(sourceOf('::ffff:10.1.2.3'), '/ip4/10.1.2.3')
  t.equal(sourceOf('::1'), '/ip6/::1')
  t.equal(sourceOf(undefined), '/unknown')
  const recent = new RecentSources(2, ['a', 'b'])
  recent.add('a'); recent.add('c')
  t.ok(recent.has('a') && recent.has('c') && !recent.has('b'), 'the least recently seen is forgotten')
})
