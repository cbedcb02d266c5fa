/**
 * Scores a finished run against the oracle: for each acknowledged message, the
 * earliest physically possible arrival at each expected recipient (time-respecting
 * paths through the link timeline and courier legs, frame size over bandwidth plus latency per hop; a post
 * sent as file pieces carries all its pieces' frames over every hop),
 * then per pair: deliverable (oracle arrival before the end and the expiry),
 * delivered (stored there), latency, and latency over the oracle's latency.
 *
 * @example
 * const pairs = analysePairs(result)
 * pairs.filter(p => p.deliverable && p.delivered).length
 */
import { courierLegs } from './courier.ts'
import { closedLinks, linkAdmitted } from './organisations.ts'
import { buildOracleGraph, earliestArrivals, earliestFileArrivals, isDeliverable, type OracleGraph } from './oracle.ts'
import type { CrossingFacts } from '../protocol/org/policy.ts'
import type { MessageRecord } from './ledger.ts'
import type { RunResult } from './run-stats.ts'

export interface Pair {
  rec: MessageRecord
  /** Recipient node index. */
  node: number
  /** Earliest possible arrival (virtual ms), or NaN when the oracle finds no path in time. */
  oracleAtMs: number
  deliverable: boolean
  /** Virtual ms it was stored there, or NaN. */
  deliveredAtMs: number
  delivered: boolean
  latencyMs: number
  /** Latency over the oracle's latency (delivered, deliverable pairs), else NaN. */
  ratio: number
}

/** What scoring needs of a run: a simulated one (RunResult) or an emulated one (node/emulate/report.ts). */
export type ScoredRun = Pick<RunResult, 'scenario' | 'timeline' | 'nodeIds'> & { ledger: { records: readonly MessageRecord[] } }

/** Every expected (message, recipient) pair of every acknowledged message, in message order. */
export function analysePairs (result: ScoredRun): Pair[] {
  const nodes = new Map(result.scenario.nodes.map(n => [n.id, n]))
  const legs = courierLegs(result.scenario, result.timeline)
  const admitted = (a: string, b: string): boolean => linkAdmitted(nodes.get(a) ?? {}, nodes.get(b) ?? {})
  const graph = buildOracleGraph(result.timeline, legs, admitted)
  // A gateway's policy (#29) closes its organisation's boundary to the messages it refuses: such
  // a message gets the graph without the boundary links of the gateways that refuse it, one per
  // set of refusing gateways.
  const closedGraphs = new Map<string, OracleGraph>()
  const graphFor = (facts: CrossingFacts | undefined): OracleGraph => {
    const c = closedLinks(nodes, facts)
    if (c === undefined) return graph
    let g = closedGraphs.get(c.key)
    if (g === undefined) closedGraphs.set(c.key, g = buildOracleGraph(result.timeline, legs, (a, b) => admitted(a, b) && !c.closed(a, b)))
    return g
  }
  const endMs = result.scenario.durationMs
  const out: Pair[] = []
  for (const rec of result.ledger.records) {
    if (!rec.acked || rec.expected.length === 0) continue
    const graph = graphFor(rec.crossing)
    const expiresAtMs = rec.createdAtMs + rec.post.ttlMs
    const source = result.nodeIds[rec.sender]
    const arrivals = rec.file === undefined
      ? earliestArrivals(graph, source, rec.createdAtMs, rec.frameBytes, expiresAtMs, endMs)
      : earliestFileArrivals(graph, source, rec.createdAtMs, { bytes: rec.frameBytes, pieceBytesMin: rec.file.frameBytesMin }, expiresAtMs, endMs)
    for (const node of rec.expected) {
      const oracle = arrivals.get(result.nodeIds[node])
      const deliverable = isDeliverable(oracle, endMs, expiresAtMs)
      const at = rec.arrivedAt[node]
      const delivered = !Number.isNaN(at)
      const latencyMs = delivered ? at - rec.createdAtMs : NaN
      const oracleLatency = deliverable ? (oracle as number) - rec.createdAtMs : NaN
      const ratio = delivered && deliverable ? (oracleLatency > 0 ? latencyMs / oracleLatency : 1) : NaN
      out.push({ rec, node, oracleAtMs: deliverable ? oracle as number : NaN, deliverable, deliveredAtMs: at, delivered, latencyMs, ratio })
    }
  }
  return out
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile (sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
}

export interface Spread { p50: number | null, p95: number | null, max: number | null }

/** p50, p95 and max; `ms` rounds to microseconds (times), otherwise values are kept exact (ratios compared against limits). */
export function spread (values: number[], ms = false): Spread {
  const arr = Array.from(Float64Array.from(values).sort())
  const r = ms ? round : (x: number | null) => x
  return { p50: r(percentile(arr, 0.5)), p95: r(percentile(arr, 0.95)), max: r(percentile(arr, 1)) }
}

export function mean (values: readonly number[]): number | null {
  if (values.length === 0) return null
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

/** Milliseconds rounded to 3 decimals (microseconds): enough for reading and comparing runs. */
export function round (x: number | null): number | null {
  return x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000
}

/** Exact ratio, null for an empty denominator (never rounded: 4117/4119 must not pass as 100%). */
export function ratio (num: number, den: number): number | null {
  return den === 0 ? null : num / den
}
