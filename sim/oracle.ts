/**
 * The oracle (brief §5): the earliest moment a message could reach each node over a
 * time-respecting path through the timeline: the physical limit each run is scored
 * against. Model, per hop u → v over a link direction:
 *
 * - the hop departs at the earliest t' ≥ (arrival at u) inside a usable segment: link up,
 *   loss below 100%, and both u and v running (a crashed node neither sends nor receives;
 *   it keeps what it stored and forwards again after restart);
 * - it costs latency + size·8 / bandwidth, both taken from the segment it departs in;
 * - it must complete (arrival ≤ end of the uninterrupted usable run) or it is lost, and
 *   then the next usable segment is tried; segments of one run may differ in knobs
 *   (a degrade), so every segment up to the best arrival so far is considered;
 * - nothing moves once the message has expired or the scenario has ended.
 *
 * Each message is considered alone (no queueing behind other traffic, no loss retries,
 * jitter ignored since it only adds): a lower bound no protocol can beat.
 *
 * A courier (`carry` event, sim/courier.ts) is a path too: a message (a file whole) that can be
 * at `from` by the carry's `at` reaches `to` when the courier arrives (`CourierLeg.arriveMs`,
 * which already waits out a crash of `to`), whatever the message's size, and travels on over
 * links from there. A leg whose `from` was down at `at` carries nothing.
 *
 * Earliest-arrival Dijkstra is exact here: with the cost fixed per departure segment,
 * departing later from a node never arrives earlier than the best candidate it scans.
 *
 * A post sent as file pieces (#23) arrives when its last piece does, and must carry all of
 * its bytes over every hop no piece can avoid (`earliestFileArrivals`). Relays forward each
 * piece as it is stored, so a path is a pipeline: over a hop u → v the bound is the later of
 * - the hop's bulk: every byte of the post crosses it, sent no earlier than the first piece
 *   could be at u, at the bandwidth of whichever usable segments come (a fluid: pieces sent
 *   in one up period stay sent; a piece cut off by a link going down is not charged again);
 * - the last piece's hop: the piece that completed the post at u must still cross to v, no
 *   earlier than that completion (the pipeline's tail; the smallest piece is charged).
 * The bulk is charged on bridges only: links whose removal would cut the network in two, so
 * that every piece bound for the far side crosses them. Where pieces could spread over
 * parallel paths (a link inside a cycle) a hop charges only the tail, and two cuts bound the
 * whole post instead: all its bytes leave the source over its links, and all of them enter
 * the recipient over its links, each link sending from the moment the first piece could be
 * at its far end. Every term holds however pieces are scheduled and routed, so the result is
 * a lower bound still; on a tree of links (every link a bridge) it is the pipeline's exactly.
 *
 * @example
 * const graph = buildOracleGraph(compileTimeline(scenario))   // build once, query per message
 * const arrivals = earliestArrivals(graph, 'field-3', createdAtMs, 140, createdAtMs + ttlMs, scenario.durationMs)
 * arrivals.has('hq')  // deliverable?   arrivals.get('hq') // earliest arrival, ms
 * earliestFileArrivals(graph, 'hq', createdAtMs, { bytes: 2_400_000, pieceBytesMin: 260 }, expiresAtMs, endMs)
 */
import type { CourierLeg } from './courier.ts'
import { directedKey, intervalIndexAt, type CrashInterval, type Timeline } from './timeline.ts'

/** A stretch of time during which a link direction can carry a hop, with the knobs that set its cost. */
export interface UsableSegment {
  startMs: number
  endMs: number
  /** End of the uninterrupted usable run this segment belongs to: a hop must arrive by then. */
  runEndMs: number
  latencyMs: number
  bandwidthBitsPerSecond: number
}

export interface OracleEdge {
  from: string
  to: string
  /** Position of `to` in `timeline.nodes` (the search runs on indices: dense meshes have ~40k edges). */
  toIndex: number
  segments: UsableSegment[]
  /** Smallest latency over its segments: a hop ready at t cannot arrive before t + this. */
  latencyMinMs: number
}

/** The timeline reduced to what the oracle needs; build it once per scenario run. */
export interface OracleGraph {
  timeline: Timeline
  outgoing: ReadonlyMap<string, OracleEdge[]>
  /** Outgoing edges by node index (as `timeline.nodes`). */
  adjacency: OracleEdge[][]
  index: ReadonlyMap<string, number>
  /** Courier legs that carry something, by the index of the node they leave (`to` as an index). */
  carriesFrom: Array<Array<{ toIndex: number, atMs: number, arriveMs: number }>>
  /** Per node index: whether some courier leg arrives there (the file bound's cuts then do not hold). */
  carriedTo: boolean[]
}

/** [start, end) windows in which `node` is running: the complement of its crashes within [0, duration). */
function upWindows (crashes: readonly CrashInterval[], durationMs: number): Array<{ startMs: number, endMs: number }> {
  const out: Array<{ startMs: number, endMs: number }> = []
  let t = 0
  for (const c of crashes) {
    if (c.startMs > t) out.push({ startMs: t, endMs: c.startMs })
    t = Math.max(t, c.endMs)
  }
  if (t < durationMs) out.push({ startMs: t, endMs: durationMs })
  return out
}

/** Intersects two sorted lists of disjoint windows. */
function intersect<A extends { startMs: number, endMs: number }> (xs: readonly A[], ys: ReadonlyArray<{ startMs: number, endMs: number }>): Array<A & { startMs: number, endMs: number }> {
  const out: A[] = []
  let i = 0
  let j = 0
  while (i < xs.length && j < ys.length) {
    const startMs = Math.max(xs[i].startMs, ys[j].startMs)
    const endMs = Math.min(xs[i].endMs, ys[j].endMs)
    if (startMs < endMs) out.push({ ...xs[i], startMs, endMs })
    if (xs[i].endMs < ys[j].endMs) i++
    else j++
  }
  return out
}

function usableSegments (timeline: Timeline, from: string, to: string): UsableSegment[] {
  const link = timeline.links.get(directedKey(from, to))
  if (link === undefined) return []
  const usable = link.intervals
    .filter(iv => iv.state.up && iv.state.loss < 1)
    .map(iv => ({ startMs: iv.startMs, endMs: iv.endMs, runEndMs: iv.endMs, latencyMs: iv.state.latencyMs, bandwidthBitsPerSecond: iv.state.bandwidthBitsPerSecond }))
  const nodesUp = intersect(upWindows(timeline.crashes.get(from) ?? [], timeline.durationMs), upWindows(timeline.crashes.get(to) ?? [], timeline.durationMs))
  const segments = intersect(usable, nodesUp)
  for (let i = segments.length - 1; i >= 0; i--) {
    const next = segments[i + 1]
    segments[i].runEndMs = next !== undefined && next.startMs === segments[i].endMs ? next.runEndMs : segments[i].endMs
  }
  return segments
}

/** `admitted`: whether a link between two nodes may carry envelopes at all (organisations, #29); absent: every link may. */
export function buildOracleGraph (timeline: Timeline, legs: readonly CourierLeg[] = [], admitted: (a: string, b: string) => boolean = () => true): OracleGraph {
  const index = new Map(timeline.nodes.map((n, i) => [n, i]))
  const carriesFrom: OracleGraph['carriesFrom'] = timeline.nodes.map(() => [])
  const carriedTo = timeline.nodes.map(() => false)
  for (const leg of legs) {
    if (leg.skipped || leg.arriveMs === Infinity) continue
    const toIndex = index.get(leg.to) as number
    carriesFrom[index.get(leg.from) as number].push({ toIndex, atMs: leg.atMs, arriveMs: leg.arriveMs })
    carriedTo[toIndex] = true
  }
  const outgoing = new Map<string, OracleEdge[]>()
  for (const [node, links] of timeline.outgoing) {
    const edges = links.filter(l => admitted(l.from, l.to)).map(l => {
      const segments = usableSegments(timeline, l.from, l.to)
      return { from: l.from, to: l.to, toIndex: index.get(l.to) as number, segments, latencyMinMs: segments.reduce((m, s) => Math.min(m, s.latencyMs), Infinity) }
    })
    // Edges that are never usable cost a search step each and can never help.
    outgoing.set(node, edges.filter(e => e.segments.length > 0))
  }
  return { timeline, outgoing, adjacency: timeline.nodes.map(n => outgoing.get(n) ?? []), index, carriesFrom, carriedTo }
}

/** Earliest arrival over one edge for a message held at its source from `readyMs`; Infinity if none before `limitMs`. */
export function hopArrival (edge: OracleEdge, readyMs: number, sizeBytes: number, limitMs: number): number {
  const segs = edge.segments
  let lo = 0
  let hi = segs.length
  while (lo < hi) { // first segment ending after readyMs
    const mid = (lo + hi) >> 1
    if (segs[mid].endMs <= readyMs) lo = mid + 1
    else hi = mid
  }
  let best = Infinity
  for (let i = lo; i < segs.length; i++) {
    const s = segs[i]
    if (s.startMs >= best || s.startMs >= limitMs) break
    const arrival = Math.max(readyMs, s.startMs) + s.latencyMs + (sizeBytes * 8 * 1000) / s.bandwidthBitsPerSecond
    if (arrival <= s.runEndMs && arrival < best) best = arrival
  }
  return best < limitMs ? best : Infinity
}

/** A binary min-heap of (time, node index) with deterministic ties. */
class Queue {
  readonly #items: Array<[number, number]> = []
  get size (): number { return this.#items.length }
  #less (a: [number, number], b: [number, number]): boolean { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]) }
  push (item: [number, number]): void {
    const h = this.#items
    h.push(item)
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  pop (): [number, number] {
    const h = this.#items
    const top = h[0]
    const last = h.pop() as [number, number]
    if (h.length > 0) {
      h[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.#less(h[l], h[m])) m = l
        if (r < h.length && this.#less(h[r], h[m])) m = r
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    return top
  }
}

/**
 * Earliest arrival at every node that can get the message before min(endMs, expiresAtMs).
 * The source maps to `createdAtMs`; absent nodes are not deliverable. Empty if the source
 * is crashed at creation or the message is created at or after the limit.
 */
export function earliestArrivals (graphOrTimeline: OracleGraph | Timeline, source: string, createdAtMs: number, sizeBytes: number, expiresAtMs: number, endMs: number): Map<string, number> {
  const graph = 'outgoing' in graphOrTimeline && 'timeline' in graphOrTimeline ? graphOrTimeline : buildOracleGraph(graphOrTimeline)
  const { timeline } = graph
  const limitMs = Math.min(endMs, expiresAtMs, timeline.durationMs)
  const start = graph.index.get(source)
  const crashedAtCreation = intervalIndexAt(timeline.crashes.get(source) ?? [], createdAtMs) >= 0
  if (start === undefined || crashedAtCreation || createdAtMs >= limitMs) return new Map()
  return searchArrivals(graph, start, createdAtMs, limitMs, (_i, _k, edge, t) => hopArrival(edge, t, sizeBytes, limitMs))
}

/**
 * Earliest arrivals from `start` at `startMs` (Dijkstra over the graph's time-dependent edges,
 * then the courier legs from every node reached). `hop(i, k, edge, t, best)` is when what left
 * node i at t over its k-th edge arrives, `best` the best arrival known at its far end: the
 * one thing the message and the file searches do differently.
 */
function searchArrivals (graph: OracleGraph, start: number, startMs: number, limitMs: number, hop: (i: number, k: number, edge: OracleEdge, t: number, best: number) => number): Map<string, number> {
  const { timeline } = graph
  const arrivals = new Map<string, number>()
  const dist = new Float64Array(timeline.nodes.length).fill(Infinity)
  const done = new Uint8Array(timeline.nodes.length)
  const queue = new Queue()
  dist[start] = startMs
  queue.push([startMs, start])
  while (queue.size > 0) {
    const [t, i] = queue.pop()
    if (done[i] === 1 || t !== dist[i]) continue
    done[i] = 1
    arrivals.set(timeline.nodes[i], t)
    const edges = graph.adjacency[i]
    for (let k = 0; k < edges.length; k++) {
      const edge = edges[k]
      const best = dist[edge.toIndex]
      if (done[edge.toIndex] === 1 || t + edge.latencyMinMs >= best) continue
      const arrival = hop(i, k, edge, t, best)
      if (arrival < best) {
        dist[edge.toIndex] = arrival
        queue.push([arrival, edge.toIndex])
      }
    }
    carry(graph, i, t, limitMs, dist, queue)
  }
  return arrivals
}

/** Relaxes the courier legs leaving node `i`, which holds the message (or all of a file) from `t`. */
function carry (graph: OracleGraph, i: number, t: number, limitMs: number, dist: Float64Array, queue: Queue): void {
  for (const leg of graph.carriesFrom[i]) {
    if (t > leg.atMs || leg.arriveMs >= limitMs || leg.arriveMs >= dist[leg.toIndex]) continue
    dist[leg.toIndex] = leg.arriveMs
    queue.push([leg.arriveMs, leg.toIndex])
  }
}

/**
 * Earliest time all `bytes` of a post, held at the edge's source from `readyMs`, can have
 * crossed it: sent back to back through the usable segments from `readyMs` (a fluid across
 * down periods), arriving the segment's latency after the last byte is sent. Infinity if not
 * before `limitMs`.
 */
export function bulkArrival (edge: OracleEdge, readyMs: number, bytes: number, limitMs: number): number {
  let bitsLeft = bytes * 8
  for (const s of edge.segments) {
    if (s.endMs <= readyMs) continue
    const startMs = Math.max(readyMs, s.startMs)
    if (startMs >= limitMs) break
    const bits = ((s.endMs - startMs) * s.bandwidthBitsPerSecond) / 1000
    if (bits >= bitsLeft) {
      const arrival = startMs + (bitsLeft * 1000) / s.bandwidthBitsPerSecond + s.latencyMs
      return arrival < limitMs ? arrival : Infinity
    }
    bitsLeft -= bits
  }
  return Infinity
}

/** Bits `edge` can have delivered by `atMs`, sent from `fromMs` on: the fluid of `bulkArrival`, per segment's latency. */
function bitsBy (edge: OracleEdge, fromMs: number, atMs: number): number {
  let bits = 0
  for (const s of edge.segments) {
    if (s.startMs >= atMs) break
    const sentMs = Math.min(s.endMs, atMs - s.latencyMs) - Math.max(s.startMs, fromMs)
    if (sentMs > 0) bits += (sentMs * s.bandwidthBitsPerSecond) / 1000
  }
  return bits
}

/**
 * Earliest time by which `bits` can have crossed a cut: the links in `edges`, each sending
 * from its own `fromMs` (bisection to a microsecond). Infinity if not before `limitMs`.
 */
function cutArrival (edges: ReadonlyArray<{ edge: OracleEdge, fromMs: number }>, bits: number, limitMs: number): number {
  const by = (atMs: number): number => edges.reduce((sum, e) => sum + bitsBy(e.edge, e.fromMs, atMs), 0)
  if (edges.length === 0 || by(limitMs) < bits) return Infinity
  let lo = edges.reduce((m, e) => Math.min(m, e.fromMs), Infinity)
  let hi = limitMs
  while (hi - lo > 1e-3) {
    const mid = (lo + hi) / 2
    if (by(mid) >= bits) hi = mid
    else lo = mid
  }
  return lo
}

const bridgeCache = new WeakMap<OracleGraph, boolean[][]>()

/**
 * For every edge of the graph (as in `adjacency`), whether its link is a bridge: the only way
 * between the two sides it joins, at any time (a link counts if either direction is ever usable;
 * a courier leg counts as a link).
 * Tarjan's low-link, without recursion: meshes may hold thousands of nodes.
 */
export function bridgesOf (graph: OracleGraph): boolean[][] {
  const cached = bridgeCache.get(graph)
  if (cached !== undefined) return cached
  const n = graph.adjacency.length
  const pair = (a: number, b: number): number => Math.min(a, b) * n + Math.max(a, b)
  const neighbours: number[][] = Array.from({ length: n }, () => [])
  const linked = new Set<number>()
  const doubled = new Set<number>() // a link with a courier beside it: two ways, never a bridge
  const join = (i: number, j: number, courier = false): void => {
    if (linked.has(pair(i, j))) { if (courier) doubled.add(pair(i, j)); return }
    linked.add(pair(i, j))
    neighbours[i].push(j)
    neighbours[j].push(i)
  }
  graph.adjacency.forEach((edges, i) => { for (const e of edges) join(i, e.toIndex) })
  // A courier is a way between its two nodes: a link it bypasses is no bridge (pieces may go round).
  graph.carriesFrom.forEach((legs, i) => { for (const leg of legs) join(i, leg.toIndex, true) })
  const disc = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const parent = new Int32Array(n).fill(-1)
  const bridges = new Set<number>()
  let clock = 0
  for (let root = 0; root < n; root++) {
    if (disc[root] !== -1) continue
    disc[root] = low[root] = clock++
    const stack: Array<[number, number]> = [[root, 0]]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      const u = top[0]
      if (top[1] < neighbours[u].length) {
        const w = neighbours[u][top[1]++]
        if (disc[w] === -1) {
          parent[w] = u
          disc[w] = low[w] = clock++
          stack.push([w, 0])
        } else if (w !== parent[u]) low[u] = Math.min(low[u], disc[w])
        continue
      }
      stack.pop()
      const p = parent[u]
      if (p === -1) continue
      low[p] = Math.min(low[p], low[u])
      if (low[u] > disc[p]) bridges.add(pair(p, u))
    }
  }
  const out = graph.adjacency.map((edges, i) => edges.map(e => bridges.has(pair(i, e.toIndex)) && !doubled.has(pair(i, e.toIndex))))
  bridgeCache.set(graph, out)
  return out
}

/** A post sent as pieces: its wire size (every piece's frame, summed) and its smallest piece frame, bytes. */
export interface FileSize { bytes: number, pieceBytesMin: number }

/**
 * Earliest arrival of a post's last piece at every node that can hold all of it before
 * min(endMs, expiresAtMs) (see the header: the pipeline bound). As `earliestArrivals`
 * otherwise; the source maps to `createdAtMs`.
 */
export function earliestFileArrivals (graph: OracleGraph, source: string, createdAtMs: number, size: FileSize, expiresAtMs: number, endMs: number): Map<string, number> {
  const { timeline } = graph
  const first = earliestArrivals(graph, source, createdAtMs, size.pieceBytesMin, expiresAtMs, endMs)
  const start = graph.index.get(source)
  if (start === undefined || !first.has(source)) return new Map()
  const limitMs = Math.min(endMs, expiresAtMs, timeline.durationMs)
  const firstAt = timeline.nodes.map(n => first.get(n) ?? Infinity)
  const bridges = bridgesOf(graph)
  const bits = size.bytes * 8
  // The two cuts (header): all bytes leave the source, and all enter each recipient.
  // A courier leaving the source, or arriving at the recipient, is a way round its cut.
  const out = graph.carriesFrom[start].length > 0 ? -Infinity : cutArrival(graph.adjacency[start].map(edge => ({ edge, fromMs: createdAtMs })), bits, limitMs)
  const incoming: Array<Array<{ edge: OracleEdge, fromMs: number }>> = timeline.nodes.map(() => [])
  graph.adjacency.forEach((edges, i) => { if (firstAt[i] < Infinity) for (const edge of edges) incoming[edge.toIndex].push({ edge, fromMs: firstAt[i] }) })
  // A recipient's cut depends on it alone: worked out once (a bisection over its incoming links), when first asked.
  const cuts = new Float64Array(timeline.nodes.length).fill(NaN)
  const cutAt = (v: number): number => {
    if (Number.isNaN(cuts[v])) cuts[v] = Math.max(out, graph.carriedTo[v] ? -Infinity : cutArrival(incoming[v], bits, limitMs))
    return cuts[v]
  }
  return searchArrivals(graph, start, createdAtMs, limitMs, (i, k, edge, t, best) => {
    const tail = hopArrival(edge, t, size.pieceBytesMin, limitMs)
    if (tail >= best) return tail // no better, whatever the bulk
    return Math.max(tail, bridges[i][k] ? bulkArrival(edge, firstAt[i], size.bytes, limitMs) : cutAt(edge.toIndex))
  })
}

/** The brief's rule: a pair is deliverable when the earliest arrival precedes both the end and the expiry. */
export function isDeliverable (arrivalMs: number | undefined, endMs: number, expiresAtMs: number): boolean {
  return arrivalMs !== undefined && arrivalMs < Math.min(endMs, expiresAtMs)
}
