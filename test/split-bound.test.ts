// The two-worker bound: shares are whole groups, balanced greedily; the window is the smallest latency
// of any link between the shares at any time; the bound is total copies over the busier side's copies
// summed per window. Hand-computed cases.
import t from 'tap'
import { parseScenario } from '../sim/scenario.ts'
import { compileTimeline } from '../sim/timeline.ts'
import { splitBound } from '../sim/split-bound.ts'

const body = `name: t
duration: 1h
nodes: [{ group: a, count: 2 }, { group: b, count: 1 }, solo]
links:
  - { between: [a-1, a-2], latency: 1ms }
  - { between: [a-1, b-1], latency: 10ms }
  - { between: [b-1, solo], latency: 20ms }
`

/** Records over nodes [a-1, a-2, b-1, solo]; undefined means never stored there. */
function records (...rows: Array<Array<number | undefined>>): Array<{ arrivedAt: Float64Array }> {
  return rows.map(r => ({ arrivedAt: Float64Array.from(r, x => x ?? NaN) }))
}

function bound (extra: string, recs: Array<{ arrivedAt: Float64Array }>) {
  const scenario = parseScenario(body + extra, 'x.yaml')
  return splitBound(scenario, compileTimeline(scenario), recs)
}

// a: 2 copies, b: 1, solo: 1. a goes first (heaviest) to side 0, b to side 1, solo to the lighter side 1.
const recs = records([1, 2, undefined, undefined], [undefined, undefined, 5, 25])

t.test('windows of the cut link latency: a window costs its busier side', async t => {
  const b = bound('', recs)
  t.same(b.shares, [['a'], ['b', 'solo']])
  t.same(b.copies, [2, 2])
  t.equal(b.windowMs, 10, 'a-1 — b-1 is the only link across; b-1 — solo stays inside side 1')
  // [0, 10): side 0 has 2, side 1 has 1 → 2; [20, 30): side 1 has 1 → 1. 4 copies / 3.
  t.equal(b.bound, 4 / 3)
  t.equal(b.totalsBound, 2)
  t.equal(b.busyWindows, 2, '[0, 10) and [20, 30)')
})

t.test('a degradation that shortens a cut link shortens every window', async t => {
  const b = bound('events:\n  - { at: 30m, degrade: [a-1, b-1], latency: 4ms }\n', recs)
  t.equal(b.windowMs, 4)
  // [0, 4): 2; [4, 8): 1; [24, 28): 1 → 4 copies / 4: no gain at all.
  t.equal(b.bound, 1)
  t.equal(b.busyWindows, 3)
})

t.test('no copies at all: no gain', async t => {
  t.equal(bound('', []).bound, 1)
  t.equal(bound('', []).busyWindows, 0)
})
