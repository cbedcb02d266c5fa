// The SVG plots of `ddil sim --out` (sim/plots.ts) must show what they claim. Issue 11: in
// delivery.svg the oracle's line was drawn first and the delivered line over it, so a run
// that keeps up with the oracle (every good run) showed no oracle at all. The oracle now goes
// on top, thin and dashed, over a wide pale delivered line. And links.svg left out node
// crashes (the timeline keeps them apart from links), so the example's truck crash was invisible.
import { crypto } from './helpers/fixtures.ts'
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { analysePairs } from '../sim/analysis.ts'
import { renderPlots } from '../sim/plots.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'

const path = fileURLToPath(new URL('fixtures/sim/sim-small.yaml', import.meta.url))
const result = await runScenario(parseScenario(readFileSync(path, 'utf8'), path), { crypto })
const svgs = await renderPlots(result, analysePairs(result))

interface Line { series: string, width: number, dash: string }

/** The plotted line marks in drawing order (later ones are on top). */
function lines (svg: string): Line[] {
  const out: Line[] = []
  for (const m of svg.matchAll(/<path aria-label="[^"]*series: ([^"]*)" role="graphics-symbol" aria-roledescription="line mark" d="[^"]*"([^>]*)>/g)) {
    out.push({ series: m[1], width: Number(/stroke-width="([\d.]+)"/.exec(m[2])?.[1]), dash: /stroke-dasharray="([^"]*)"/.exec(m[2])?.[1] ?? '' })
  }
  return out
}

t.test('delivery.svg: the oracle line is drawn over the delivered line, and stays visible on it', async t => {
  const drawn = lines(svgs['delivery.svg'])
  const order = drawn.map(l => l.series)
  t.same([...order].sort(), ['delivered', 'expected (created)', 'oracle (earliest possible)'], 'three series')
  const delivered = drawn[order.indexOf('delivered')]
  const oracle = drawn[order.indexOf('oracle (earliest possible)')]
  t.ok(order.indexOf('oracle (earliest possible)') > order.indexOf('delivered'), `oracle drawn after delivered (${order.join(', ')})`)
  t.ok(oracle.width < delivered.width, 'thinner than the delivered line, so the delivered one shows round it')
  t.match(oracle.dash, /^\d+,\d+$/, 'dashed')
  t.not(oracle.dash.split(',')[1], '0', 'with gaps')
})

interface Bar { row: string, start: number, end: number, state: string }

/** The timeline's bars, from the labels vega gives them. */
function bars (svg: string): Bar[] {
  return [...svg.matchAll(/aria-label="simulated time \(min\): ([\d.]+); link: ([^;]+); end: ([\d.]+); state: ([^"]+)"/g)]
    .map(m => ({ start: Number(m[1]), row: m[2], end: Number(m[3]), state: m[4] }))
}

t.test('links.svg: a crashed node shows, on its own row and on each of its links', async t => {
  // sim-small crashes d from 5m to 9m; d links to c and a.
  const all = bars(svgs['links.svg'])
  t.same(all.filter(b => b.row === 'd (node)'), [{ row: 'd (node)', start: 5, end: 9, state: 'node crashed' }], 'the crash on its own row')
  for (const row of ['c–d', 'd–a']) {
    const during = all.filter(b => b.row === row && b.start < 9 && b.end > 5)
    t.same(during.map(b => [b.start, b.end, b.state]), [[5, 9, 'node crashed']], `${row}: nothing but the crash from 5m to 9m`)
  }
  t.notOk(all.some(b => b.row === 'a–b' && b.state === 'node crashed'), 'links of nodes that stay up are untouched')
})
