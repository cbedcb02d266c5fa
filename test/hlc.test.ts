// Hybrid logical clock: monotonic under a stalled or backwards wall clock, ordered after what it observes,
// far-future timestamps refused (and then not absorbed).
import t from 'tap'
import { HybridClock, compareHlc } from '../protocol/hlc.ts'
import { clockSkewMsMax, hlcCounterMax } from '../protocol/limits.ts'

t.test('ticks with the wall clock, counts when it stalls or goes back', async t => {
  let wall = 1000
  const hlc = new HybridClock(() => wall)
  t.same(hlc.now(), { ms: 1000, c: 0 })
  t.same(hlc.now(), { ms: 1000, c: 1 })
  wall = 900 // NTP step backwards
  t.same(hlc.now(), { ms: 1000, c: 2 })
  wall = 2000
  t.same(hlc.now(), { ms: 2000, c: 0 })
})

t.test('orders after observed remote stamps', async t => {
  let wall = 1000
  const hlc = new HybridClock(() => wall)
  hlc.observe({ ms: 5000, c: 3 })
  const next = hlc.now()
  t.ok(compareHlc(next, { ms: 5000, c: 3 }) > 0, `next ${JSON.stringify(next)} after remote`)
  wall = 6000
  t.same(hlc.now(), { ms: 6000, c: 0 })
  hlc.observe({ ms: 6000, c: 9 })
  t.same(hlc.now(), { ms: 6000, c: 11 })
})

t.test('far-future remote stamps are refused and not absorbed', async t => {
  const wall = 1_000_000
  const hlc = new HybridClock(() => wall)
  t.throws(() => hlc.observe({ ms: wall + clockSkewMsMax + 1, c: 0 }), { code: 'ERR_CLOCK_SKEW' })
  t.same(hlc.now(), { ms: wall, c: 0 }, 'clock not dragged forward')
  hlc.observe({ ms: wall + clockSkewMsMax, c: 0 })
  t.equal(hlc.now().ms, wall + clockSkewMsMax, 'within the allowance it is absorbed')
})

t.test('counter overflow is a LimitError, not a wrap', async t => {
  const hlc = new HybridClock(() => 5, { ms: 5, c: hlcCounterMax })
  t.throws(() => hlc.now(), { code: 'ERR_LIMIT' })
})

t.test('restores from a persisted last stamp', async t => {
  const hlc = new HybridClock(() => 10, { ms: 50, c: 2 })
  t.same(hlc.now(), { ms: 50, c: 3 })
})
