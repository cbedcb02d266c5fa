/**
 * Plots of a run as SVG, specified in vega-lite and rendered by vega's SVG renderer
 * inside Node (no canvas, no browser): delivery over time (delivered pairs against
 * what the oracle could have delivered by then and what was expected), the latency
 * CDF per precedence, and the link timeline (each link's up / degraded / clogged /
 * down periods, and each node crash: on a row of its own and over the node's links,
 * which carry nothing while it is down). Series are thinned to a few hundred points so files stay small.
 *
 * @example
 * const svgs = await renderPlots(result, pairs)   // { 'delivery.svg': '<svg…', … }
 */
import * as vega from 'vega'
import * as vl from 'vega-lite'
import { precedenceNames } from '../protocol/envelope.ts'
import type { Pair } from './analysis.ts'
import type { RunResult } from './run-stats.ts'
import type { CrashInterval } from './timeline.ts'

/** Most points per plotted series. */
const seriesPointsMax = 300
/** Most links drawn in the timeline (those with something happening first). */
const timelineLinksMax = 80

type Row = Record<string, string | number>

async function toSvg (spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' })
  return await view.toSVG()
}

/** Cumulative count over time of sorted event times, thinned to at most `seriesPointsMax` steps. */
function cumulative (times: number[], series: string): Row[] {
  const sorted = Array.from(Float64Array.from(times).sort())
  const step = Math.max(1, Math.ceil(sorted.length / seriesPointsMax))
  const rows: Row[] = [{ minutes: 0, pairs: 0, series }]
  for (let i = step - 1; i < sorted.length; i += step) rows.push({ minutes: sorted[i] / 60_000, pairs: i + 1, series })
  if (sorted.length > 0 && (sorted.length - 1) % step !== step - 1) rows.push({ minutes: sorted[sorted.length - 1] / 60_000, pairs: sorted.length, series })
  return rows
}

/**
 * The delivery plot's series, in drawing order. A good run delivers right behind the
 * oracle, so the two lines coincide: delivered goes first, wide and pale, and the oracle
 * last, thin and dashed on top, so both stay visible where they overlap.
 */
const deliverySeries = [
  { name: 'delivered', color: '#4c78a8', width: 6, dash: [1, 0], opacity: 0.45 },
  { name: 'expected (created)', color: '#f58518', width: 2, dash: [1, 0], opacity: 1 },
  { name: 'oracle (earliest possible)', color: '#222222', width: 1.5, dash: [6, 3], opacity: 1 },
] as const

function deliverySpec (pairs: readonly Pair[]): vl.TopLevelSpec {
  const values = [
    ...cumulative(pairs.filter(p => p.delivered).map(p => p.deliveredAtMs), 'delivered'),
    ...cumulative(pairs.map(p => p.rec.createdAtMs), 'expected (created)'),
    ...cumulative(pairs.filter(p => p.deliverable).map(p => p.oracleAtMs), 'oracle (earliest possible)'),
  ]
  const scale = <T>(pick: (s: typeof deliverySeries[number]) => T): { domain: string[], range: T[] } =>
    ({ domain: deliverySeries.map(s => s.name), range: deliverySeries.map(pick) })
  return {
    title: 'Delivery over time', width: 640, height: 300, data: { values },
    encoding: {
      x: { field: 'minutes', type: 'quantitative', title: 'simulated time (min)' },
      y: { field: 'pairs', type: 'quantitative', title: '(message, recipient) pairs' },
      color: { field: 'series', type: 'nominal', title: null, scale: scale(s => s.color), legend: { labelLimit: 300 } },
      strokeDash: { field: 'series', type: 'nominal', title: null, scale: scale(s => [...s.dash]) },
    },
    // One layer per series: layers are drawn in order, so the oracle is always on top.
    layer: deliverySeries.map(s => ({
      transform: [{ filter: { field: 'series', equal: s.name } }],
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: s.width, opacity: s.opacity },
    })),
  }
}

function cdfSpec (pairs: readonly Pair[]): vl.TopLevelSpec {
  const values: Row[] = []
  for (const p of precedenceNames) {
    const lat = Array.from(Float64Array.from(pairs.filter(x => x.delivered && x.rec.post.precedenceName === p).map(x => Math.max(x.latencyMs, 1) / 1000)).sort())
    const step = Math.max(1, Math.ceil(lat.length / seriesPointsMax))
    for (let i = 0; i < lat.length; i += step) values.push({ seconds: lat[i], fraction: (i + 1) / lat.length, precedence: p })
    if (lat.length > 0) values.push({ seconds: lat[lat.length - 1], fraction: 1, precedence: p })
  }
  return {
    title: 'Latency CDF per precedence', width: 640, height: 300, data: { values }, mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, title: 'latency (s, log scale)' },
      y: { field: 'fraction', type: 'quantitative', title: 'fraction of delivered pairs' },
      color: { field: 'precedence', type: 'nominal', sort: [...precedenceNames] },
    },
  }
}

/** Colours of the timeline's states; a crashed node carries nothing, whatever its links are doing. */
const timelineStates = { up: '#4c9a2a', degraded: '#e0a800', 'one-way': '#8e44ad', down: '#c0392b', 'node crashed': '#34495e' }

/** [startMs, endMs) cut where a crash begins or ends; each piece says whether a crash covers it. */
function crashPieces (startMs: number, endMs: number, crashes: readonly CrashInterval[]): Array<{ startMs: number, endMs: number, crashed: boolean }> {
  const cuts = new Set([startMs, endMs])
  for (const c of crashes) for (const t of [c.startMs, c.endMs]) if (t > startMs && t < endMs) cuts.add(t)
  const times = [...cuts].sort((x, y) => x - y)
  return times.slice(1).map((end, i) => ({ startMs: times[i], endMs: end, crashed: crashes.some(c => c.startMs <= times[i] && times[i] < c.endMs) }))
}

/** One row per node that crashes, a bar per crash: links do not show a crash by themselves (the timeline keeps them apart). */
function crashRows (r: RunResult): Row[] {
  const rows: Row[] = []
  for (const [node, crashes] of r.timeline.crashes) {
    for (const c of crashes) rows.push({ link: `${node} (node)`, start: c.startMs / 60_000, end: c.endMs / 60_000, state: 'node crashed' })
  }
  return rows
}

function timelineSpec (r: RunResult): vl.TopLevelSpec {
  const crashesOf = (node: string): readonly CrashInterval[] => r.timeline.crashes.get(node) ?? []
  const links = r.scenario.links.map(l => {
    const ab = r.timeline.links.get(`${l.a}\u0000${l.b}`)?.intervals ?? []
    const ba = r.timeline.links.get(`${l.b}\u0000${l.a}`)?.intervals ?? []
    return { name: `${l.a}–${l.b}`, ab, ba, base: l.params, crashes: [...crashesOf(l.a), ...crashesOf(l.b)] }
  })
  const busy = links.filter(l => l.ab.length > 1 || l.ba.length > 1 || !(l.ab[0]?.state.up ?? true) || l.crashes.length > 0)
  const shown = [...busy, ...links.filter(l => !busy.includes(l))].slice(0, timelineLinksMax)
  const values: Row[] = crashRows(r)
  for (const l of shown) {
    for (const iv of l.ab) {
      const back = l.ba.find(b => b.startMs <= iv.startMs && iv.startMs < b.endMs)?.state.up ?? false
      const s = iv.state
      const degraded = s.bandwidthBitsPerSecond < l.base.bandwidthBitsPerSecond || s.loss > l.base.loss || s.latencyMs > l.base.latencyMs
      const state = s.up && back ? (degraded ? 'degraded' : 'up') : s.up || back ? 'one-way' : 'down'
      for (const piece of crashPieces(iv.startMs, iv.endMs, l.crashes)) {
        values.push({ link: l.name, start: piece.startMs / 60_000, end: piece.endMs / 60_000, state: piece.crashed ? 'node crashed' : state })
      }
    }
  }
  return {
    title: `Link timeline${shown.length < links.length ? ` (${shown.length} of ${links.length} links)` : ''}`, width: 640, height: { step: 14 },
    data: { values }, mark: 'bar',
    encoding: {
      y: { field: 'link', type: 'nominal', sort: null, title: null },
      x: { field: 'start', type: 'quantitative', title: 'simulated time (min)' },
      x2: { field: 'end' },
      color: { field: 'state', type: 'nominal', scale: { domain: Object.keys(timelineStates), range: Object.values(timelineStates) } },
    },
  }
}

/** The three plots, by file name. */
export async function renderPlots (result: RunResult, pairs: readonly Pair[]): Promise<Record<string, string>> {
  return {
    'delivery.svg': await toSvg(deliverySpec(pairs)),
    'latency-cdf.svg': await toSvg(cdfSpec(pairs)),
    'links.svg': await toSvg(timelineSpec(result)),
  }
}
