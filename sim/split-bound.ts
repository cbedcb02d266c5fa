/**
 * The most a two-worker parallel simulation of a finished run could gain, measured
 * from the run itself. A conservative parallel simulator gives each worker a share
 * of the nodes and advances both in lock-step windows no longer than the smallest
 * latency of a link between the shares (its lookahead): within a window neither can
 * hear from the other, so a window takes as long as its busier side.
 *
 * The work measure is the stored copy (most of a relay's work per envelope: decode,
 * checks, store batch, index, forwarding), counted per node from the ledger's first
 * arrival times. Shares are whole scenario groups (ungrouped nodes alone), assigned
 * greedily to the lighter side, heaviest first, so a cut never crosses a group's own
 * (usually short) links. The bound ignores every cost of running in parallel
 * (synchronisation, duplicated set-up, merging results), so real speed-up is lower.
 *
 * @example
 * const b = splitBound(result.scenario, result.timeline, result.ledger.records)
 * b.bound   // e.g. 1.4: at best 1.4× faster on two workers than on one
 */
import type { Scenario } from './scenario-types.ts'
import type { Timeline } from './timeline.ts'

export interface SplitBound {
  /** Units (group names, or node ids of ungrouped nodes) given to each worker. */
  shares: [string[], string[]]
  /** Stored copies each worker would handle. */
  copies: [number, number]
  /** The lookahead: smallest latency of any link between the shares at any time, ms. */
  windowMs: number
  /** (all copies) / (sum over windows of the busier side's copies): the ideal speed-up. */
  bound: number
  /** The same with one window for the whole run: the balance of totals alone. */
  totalsBound: number
  /**
   * Windows in which some node stores a copy: the fewest barriers the two workers must
   * meet at (a simulator may skip idle windows; timers and control frames add more).
   */
  busyWindows: number
}

interface Unit { name: string, nodes: number[], copies: number }

/** Scores a two-worker split of the nodes; `records` need only each message's per-node first arrival (NaN where never). */
export function splitBound (scenario: Scenario, timeline: Timeline, records: ReadonlyArray<{ arrivedAt: Float64Array }>): SplitBound {
  const ids = scenario.nodes.map(n => n.id)
  const perNode = new Float64Array(ids.length)
  for (const r of records) for (let i = 0; i < ids.length; i++) if (!Number.isNaN(r.arrivedAt[i])) perNode[i]++
  const side = assignShares(units(scenario, perNode))
  const windowMs = lookaheadMs(timeline, ids, side.of)
  const windows = Math.max(1, Math.ceil(timeline.durationMs / Math.max(windowMs, 1)))
  const load = [new Float64Array(windows), new Float64Array(windows)]
  for (const r of records) {
    for (let i = 0; i < ids.length; i++) {
      const at = r.arrivedAt[i]
      if (Number.isNaN(at)) continue
      load[side.of[i]][Math.min(windows - 1, Math.floor(at / Math.max(windowMs, 1)))]++
    }
  }
  let busier = 0
  let busyWindows = 0
  for (let w = 0; w < windows; w++) {
    busier += Math.max(load[0][w], load[1][w])
    if (load[0][w] + load[1][w] > 0) busyWindows++
  }
  const total = side.copies[0] + side.copies[1]
  return {
    shares: side.shares,
    copies: side.copies,
    windowMs,
    bound: busier === 0 ? 1 : total / busier,
    totalsBound: total === 0 ? 1 : total / Math.max(side.copies[0], side.copies[1]),
    busyWindows,
  }
}

function units (scenario: Scenario, perNode: Float64Array): Unit[] {
  const index = new Map(scenario.nodes.map((n, i) => [n.id, i]))
  const out: Unit[] = []
  const seen = new Set<string>()
  for (const n of scenario.nodes) {
    const name = n.group ?? n.id
    if (seen.has(name)) continue
    seen.add(name)
    const nodes = n.group === undefined ? [index.get(n.id) as number] : scenario.groups[n.group].map(id => index.get(id) as number)
    out.push({ name, nodes, copies: nodes.reduce((sum, i) => sum + perNode[i], 0) })
  }
  return out
}

/** Heaviest unit first, each to the side with fewer copies so far (ties: the first side). */
function assignShares (all: Unit[]): { of: Uint8Array, shares: [string[], string[]], copies: [number, number] } {
  const of = new Uint8Array(all.reduce((n, u) => n + u.nodes.length, 0))
  const shares: [string[], string[]] = [[], []]
  const copies: [number, number] = [0, 0]
  const order = all.map((u, k) => ({ u, k })).sort((x, y) => y.u.copies - x.u.copies || x.k - y.k)
  for (const { u } of order) {
    const s = copies[1] < copies[0] ? 1 : 0
    shares[s].push(u.name)
    copies[s] += u.copies
    for (const i of u.nodes) of[i] = s
  }
  return { of, shares, copies }
}

function lookaheadMs (timeline: Timeline, ids: string[], of: Uint8Array): number {
  const side = new Map(ids.map((id, i) => [id, of[i]]))
  let min = timeline.durationMs
  for (const link of timeline.links.values()) {
    if (side.get(link.from) === side.get(link.to)) continue
    for (const iv of link.intervals) min = Math.min(min, iv.state.latencyMs)
  }
  return min
}
