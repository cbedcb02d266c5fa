/**
 * Figures gathered while a run goes (wire bytes, frames lost, refusals, queue and
 * store samples, engine disconnects) and the `RunResult` handed to the checkers and
 * the report once it ends. Queue samples back the "bounded queues" check: the largest
 * outbound queue any engine held for any peer, and any store found above its quota.
 *
 * @example
 * const stats = new RunStats(scenario, seed, timeline, ledger, crypto)   // crypto: memoisedCrypto(...)
 * stats.frameSent(frame); stats.sample(nodes)
 * const result = stats.finish({ nodes, net, events, traceHash, wallMs })
 */
import { newCounters, type Counters } from '../protocol/engine/types.ts'
import { defaultEngineConfig } from '../protocol/engine/types.ts'
import type { CarryOutcome } from './courier.ts'
import type { GovernedOutcome } from './governed.ts'
import type { Ledger } from './ledger.ts'
import type { SimNetwork } from './network.ts'
import type { SimNode } from './node.ts'
import type { Scenario } from './scenario-types.ts'
import { timelineChanges, type Timeline } from './timeline.ts'

export interface WireStats {
  /** Frame bytes put on links, retransmissions included. */
  bytes: number
  frames: number
  retransmittedBytes: number
  /** Frames lost to a link going down or a crash while in flight, and to one-way clogs. */
  lostDown: number
  lostClog: number
}

export interface RunResult {
  scenario: Scenario
  seed: number
  timeline: Timeline
  nodeIds: string[]
  nodes: SimNode[]
  ledger: Ledger
  events: number
  traceHash: string
  wallMs: number
  wire: WireStats
  /** Engine counters summed over every node and incarnation. */
  counters: Counters
  /** Posts whose sender's relay was down at the time. */
  postsSkipped: number
  disconnects: Array<{ atMs: number, by: string, peer: string, reason: string }>
  refusals: Record<string, number>
  /** Largest outbound queue seen for one peer, bytes, and the engines' bound. */
  queueBytesSeen: number
  queueBytesLimit: number
  /** Samples where a node's store held more than its quota. */
  overQuota: Array<{ atMs: number, node: string, bytes: number, quota: number }>
  /** Running nodes grouped by the links connected at the end (indices). */
  components: number[][]
  /** The links connected at the end between running nodes (indices, lower first). */
  endLinks: Array<[number, number]>
  /** The quiet phase runs from here to the end: the last change of any link or node (or the last quarter of a run without faults). */
  quietStartMs: number
  verify: { calls: number, computed: number }
  /** SHA-256 over inputs of 64 B or more, memoised across nodes like `verify`. */
  digest: { calls: number, computed: number }
  /** Governed mode only (`governance: true`): channel keys, removals and who decrypted what. */
  governance?: GovernedOutcome
  /** Scenarios with `carry` events only: what each courier carried (sim/courier.ts). */
  carries?: CarryOutcome[]
}

export class RunStats {
  readonly scenario: Scenario
  readonly seed: number
  readonly timeline: Timeline
  readonly ledger: Ledger
  readonly verify: { calls: number, computed: number }
  readonly digest: { calls: number, computed: number }
  readonly wire: WireStats = { bytes: 0, frames: 0, retransmittedBytes: 0, lostDown: 0, lostClog: 0 }
  readonly disconnects: RunResult['disconnects'] = []
  readonly refusals: Record<string, number> = {}
  readonly overQuota: RunResult['overQuota'] = []
  postsSkipped = 0
  queueBytesSeen = 0

  constructor (scenario: Scenario, seed: number, timeline: Timeline, ledger: Ledger, memo: { verifyStats: RunResult['verify'], digestStats: RunResult['digest'] }) {
    this.scenario = scenario
    this.seed = seed
    this.timeline = timeline
    this.ledger = ledger
    this.verify = memo.verifyStats
    this.digest = memo.digestStats
  }

  frameSent (frame: Uint8Array): void {
    this.wire.bytes += frame.length
    this.wire.frames++
  }

  frameLost (frame: Uint8Array, why: 'down' | 'clog' | 'retransmit'): void {
    if (why === 'retransmit') { this.wire.bytes += frame.length; this.wire.retransmittedBytes += frame.length } else if (why === 'clog') this.wire.lostClog++
    else this.wire.lostDown++
  }

  refused (reason: string): void { this.refusals[reason] = (this.refusals[reason] ?? 0) + 1 }

  sample (nodes: readonly SimNode[]): void {
    for (const node of nodes) {
      const engine = node.engine
      if (engine === undefined) continue
      for (const peer of engine.probe.links.values()) if (peer.queue.bytes > this.queueBytesSeen) this.queueBytesSeen = peer.queue.bytes
      if (engine.probe.catalog.bytesUsed > engine.probe.config.storageBytesMax) {
        this.overQuota.push({ atMs: node.deps.scheduler.now, node: node.id, bytes: engine.probe.catalog.bytesUsed, quota: engine.probe.config.storageBytesMax })
      }
    }
  }

  finish (end: { nodes: SimNode[], net: SimNetwork, events: number, traceHash: string, wallMs: number }): RunResult {
    const counters = newCounters()
    for (const node of end.nodes) {
      const c = node.counters()
      for (const key of Object.keys(counters) as Array<keyof Counters>) {
        const into = counters[key]
        const from = c[key]
        if (Array.isArray(into) && Array.isArray(from)) from.forEach((v, i) => { into[i] += v })
        else (counters as unknown as Record<string, number>)[key] = (into as number) + (from as number)
      }
    }
    const changes = timelineChanges(this.timeline)
    return {
      scenario: this.scenario, seed: this.seed, timeline: this.timeline, nodeIds: end.nodes.map(n => n.id), nodes: end.nodes,
      ledger: this.ledger, events: end.events, traceHash: end.traceHash, wallMs: end.wallMs, wire: this.wire, counters,
      postsSkipped: this.postsSkipped, disconnects: this.disconnects, refusals: this.refusals,
      queueBytesSeen: this.queueBytesSeen, queueBytesLimit: end.nodes[0]?.engine?.probe.config.peerQueueBytesMax ?? defaultEngineConfig.peerQueueBytesMax,
      overQuota: this.overQuota, ...connectedAtEnd(end.nodes, end.net),
      quietStartMs: quietStart(changes.reduce((m, c) => Math.max(m, c.atMs), 0), this.scenario.durationMs), verify: this.verify, digest: this.digest,
    }
  }
}

/**
 * Start of the quiet phase: the last link or node change; a scenario without faults
 * after its start is judged as if its last quarter were the quiet phase.
 */
function quietStart (lastChangeMs: number, durationMs: number): number {
  return lastChangeMs > 0 ? lastChangeMs : 0.75 * durationMs
}

/** The links connected now between running nodes, and the connected components they make. */
function connectedAtEnd (nodes: readonly SimNode[], net: SimNetwork): { components: number[][], endLinks: Array<[number, number]> } {
  const endLinks: Array<[number, number]> = []
  for (let i = 0; i < nodes.length; i++) {
    if (!nodes[i].running) continue
    for (let j = i + 1; j < nodes.length; j++) if (nodes[j].running && net.isConnected(nodes[i].id, nodes[j].id)) endLinks.push([i, j])
  }
  return { components: componentsOf(nodes.map(n => n.running), endLinks), endLinks }
}

/** Connected components of the nodes `present` over `links` (indices, each sorted). */
export function componentsOf (present: readonly boolean[], links: ReadonlyArray<readonly [number, number]>): number[][] {
  const neighbours: number[][] = present.map(() => [])
  for (const [a, b] of links) { neighbours[a].push(b); neighbours[b].push(a) }
  const seen = new Set<number>()
  const out: number[][] = []
  for (let i = 0; i < present.length; i++) {
    if (seen.has(i) || !present[i]) continue
    const comp: number[] = []
    const stack = [i]
    seen.add(i)
    while (stack.length > 0) {
      const k = stack.pop() as number
      comp.push(k)
      for (const j of neighbours[k]) if (!seen.has(j)) { seen.add(j); stack.push(j) }
    }
    out.push(comp.sort((a, b) => a - b))
  }
  return out
}
