/**
 * How a split run (see _sim-split-child.ts) cuts the fleet, and one of its two workers,
 * which builds the fleet as sim/runner.ts
 * does but starts engines only for its own share of the nodes, treats the others as
 * always running, and runs its events window by window. At each barrier it publishes the
 * frames that crossed to the other side (in its ring for the window's parity, so the
 * other may still be reading the previous one) and the time of its next event; both then
 * start the next window at the earliest of those times and of the crossing frames'
 * arrivals, so idle stretches cost no barriers.
 *
 * @example
 * const result = await runShare(shared, 0)
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { createNodeCrypto } from '../node/crypto.ts'
import { ttlSecondsMin } from '../protocol/limits.ts'
import type { LinkHandler, Logger } from '../protocol/ports.ts'
import { simEpochMs } from '../sim/clock.ts'
import { tuneHeapForSimulation } from '../sim/heap-tuning.ts'
import { SimIdentities } from '../sim/identities.ts'
import { SimNetwork } from '../sim/network.ts'
import { SimNode } from '../sim/node.ts'
import { Rng } from '../sim/rng.ts'
import { parseScenario } from '../sim/scenario.ts'
import type { Scenario } from '../sim/scenario-types.ts'
import { Scheduler } from '../sim/scheduler.ts'
import { StringPool } from '../sim/sim-disk.ts'
import type { Wake } from '../sim/sim-store.ts'
import { compileTimeline, timelineChanges } from '../sim/timeline.ts'
import { memoisedCrypto, sharedDecoder } from '../sim/verify-cache.ts'
import { buildWorkload, type Post } from '../sim/workload.ts'

export type Partition = 'groups' | 'interleaved'

/**
 * Side of each node. `groups`: whole scenario groups (ungrouped nodes alone), heaviest
 * first to the side with fewer nodes, as sim/split-bound.ts scores it. `interleaved`:
 * alternate nodes within each group, starting on alternate sides group by group, so a
 * flood inside a group keeps both workers busy (but the cut then crosses short links).
 */
export function partition (scenario: Scenario, how: Partition): number[] {
  const index = new Map(scenario.nodes.map((n, i) => [n.id, i]))
  const units: string[][] = []
  const seen = new Set<string>()
  for (const n of scenario.nodes) {
    if (n.group === undefined) units.push([n.id])
    else if (!seen.has(n.group)) { seen.add(n.group); units.push(scenario.groups[n.group]) }
  }
  const side = new Array<number>(scenario.nodes.length).fill(0)
  if (how === 'interleaved') {
    units.forEach((ids, u) => ids.forEach((id, k) => { side[index.get(id) as number] = (u + k) % 2 }))
    return side
  }
  const count = [0, 0]
  for (const ids of [...units].sort((a, b) => b.length - a.length)) {
    const s = count[1] < count[0] ? 1 : 0
    count[s] += ids.length
    for (const id of ids) side[index.get(id) as number] = s
  }
  return side
}

/** Smallest latency of a link between the sides: how far both may run without hearing from the other. */
export function lookaheadMs (scenario: Scenario, side: number[], untilMs: number): number {
  const timeline = compileTimeline(scenario)
  for (const change of timelineChanges(timeline)) {
    if (change.atMs > 0 && change.atMs < untilMs) throw new Error(`${scenario.name}: a ${change.kind} change at ${change.atMs / 60_000} min; a split run handles only a fault-free stretch (use --minutes)`)
  }
  const sideOf = new Map(scenario.nodes.map((n, i) => [n.id, side[i]]))
  let min = Infinity
  for (const link of timeline.links.values()) {
    if (sideOf.get(link.from) === sideOf.get(link.to)) continue
    for (const iv of link.intervals) if (iv.state.up) min = Math.min(min, iv.state.latencyMs)
  }
  if (!(min > 0) || min === Infinity) throw new Error(`${scenario.name}: the cut crosses a link of no latency (or none at all): nothing to run in parallel`)
  return min
}

export interface SplitShared {
  file: string
  durationMs: number
  /** Side (0 or 1) of each node, in scenario order. */
  side: number[]
  lookaheadMs: number
  /** Int32: each worker's barrier generation [0, 1]; an abort flag [2]. */
  control: SharedArrayBuffer
  /** Float64, per window parity (as the rings: the other may still be reading the last): per worker, its next event time and its earliest crossing arrival. */
  times: SharedArrayBuffer
  /** Per worker, one ring per window parity. */
  rings: SharedArrayBuffer[][]
}

export interface ShareResult {
  nodes: number
  stored: number
  events: number
  windows: number
  crossed: number
  /** Wall time spent running events, and waiting at barriers, ms. */
  busyMs: number
  waitMs: number
  /** Wall time from the start of set-up (modules loaded) to the end, ms: comparable with the runner's `wallMs`. */
  wallMs: number
  /** Busy time per window, ms. */
  busyPerWindowMs: number[]
}

/** Bytes before a crossing frame's bytes: arrival and send times (f64), from, to, length (i32), padding. */
const entryHeadBytes = 32
/** Barrier spins between checks of the abort flag. */
const spinsPerCheck = 1 << 16
const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }
/** The other side's nodes, as this side's network sees them: always running, reached through the cut. */
const elsewhere: LinkHandler = { linkUp () {}, linkDown () {}, receive () {}, drain () {} }

interface Crossing { from: number, to: number, frame: Uint8Array, atMs: number, sentAtMs: number }

export async function runShare (shared: SplitShared, w: number): Promise<ShareResult> {
  const start = performance.now()
  tuneHeapForSimulation()
  const parsed = parseScenario(readFileSync(shared.file, 'utf8'), shared.file)
  const scenario = { ...parsed, durationMs: shared.durationMs }
  const ids = scenario.nodes.map(n => n.id)
  const index = new Map(ids.map((id, i) => [id, i]))
  const local = (id: string): boolean => shared.side[index.get(id) as number] === w
  const rng = Rng.from(scenario.seed)
  const s = new Scheduler()
  const wake: Wake = { pending: false }
  const crypto = memoisedCrypto(createNodeCrypto())
  const decoder = sharedDecoder(crypto)
  const identities = new SimIdentities(crypto, scenario.seed, ids)
  const pool = new StringPool()
  const nodes: Array<SimNode | undefined> = []
  const outbox: Crossing[] = []
  const net = new SimNetwork(s, rng.fork('link'), {
    handler: id => local(id) ? (nodes[index.get(id) as number]?.running === true ? nodes[index.get(id) as number]?.engine : undefined) : elsewhere,
  })
  net.cut = { remote: id => !local(id), send: (from, to, frame, atMs, sentAtMs) => outbox.push({ from: index.get(from) as number, to: index.get(to) as number, frame, atMs, sentAtMs }) }
  for (const link of scenario.links) net.addLink(link.a, link.b)
  let stored = 0
  let failure: unknown
  const fail = (e: unknown): void => { failure ??= e }
  for (const [i, n] of scenario.nodes.entries()) {
    nodes.push(!local(n.id) ? undefined : new SimNode({
      id: n.id, index: i, scheduler: s, epochMs: simEpochMs, clockFault: { skewMs: n.skewMs ?? 0, driftPpm: n.driftPpm ?? 0 },
      crypto, decode: decoder.decode, user: identities.user(n.id), authoriser: identities.authoriser, transport: net.transport(n.id), logger: silent, wake,
      storeWriteMs: 0.25, stringPool: pool, engineConfig: { storageBytesMax: n.storageBytes }, onUp: () => { net.nodeChanged(n.id) }, events: { stored: () => { stored++ } },
    }))
  }
  for (const node of nodes) node?.start().catch(fail)
  for (const change of timelineChanges(compileTimeline(scenario))) {
    if (change.kind === 'link' && change.atMs === 0) s.at(0, () => { net.setState(change.from, change.to, change.state) }, true)
  }
  // Every worker draws every post's body, so each body is what the single-threaded run draws.
  const bodies = rng.fork('bodies')
  const post = (p: Post): void => {
    const body = bodies.bytes(p.sizeBytes)
    const sender = local(p.sender) ? nodes[index.get(p.sender) as number] : undefined
    if (sender === undefined) return
    const channel = p.target.kind === 'channel' ? identities.channelRef(p.target.channel) : identities.directRef(p.sender, p.target.to)
    const env = sender.sign({ channel, precedence: p.precedence, ttlSeconds: Math.max(ttlSecondsMin, Math.round(p.ttlMs / 1000)), body })
    if (env !== undefined) sender.submit(env).catch(fail)
  }
  for (const p of buildWorkload(scenario, rng.fork('traffic'))) s.at(p.atMs, () => { post(p) }, true)

  const control = new Int32Array(shared.control)
  const times = new Float64Array(shared.times)
  const result: ShareResult = { nodes: nodes.filter(n => n !== undefined).length, stored: 0, events: 0, windows: 0, crossed: 0, busyMs: 0, waitMs: 0, wallMs: 0, busyPerWindowMs: [] }
  const drain = (): Promise<void> => new Promise(resolve => { setImmediate(resolve) })
  try {
    for (let g = 0; ; g++) {
      const waitStart = performance.now()
      publish(shared.rings[w][g & 1], outbox, times.subarray(4 * (g & 1), 4 * (g & 1) + 4), w, s.peekTime())
      result.crossed += outbox.length
      outbox.length = 0
      barrier(control, w, g + 1)
      for (const c of consume(shared.rings[1 - w][g & 1])) net.inject(ids[c.from], ids[c.to], c.frame, c.atMs, c.sentAtMs)
      const t = times.subarray(4 * (g & 1), 4 * (g & 1) + 4)
      const startMs = Math.min(t[0], t[1], t[2], t[3])
      const busyStart = performance.now()
      if (g > 0) result.waitMs += busyStart - waitStart // the first barrier waits for the other's set-up
      if (failure !== undefined) throw failure
      if (startMs >= scenario.durationMs) break
      const endMs = Math.min(startMs + shared.lookaheadMs, scenario.durationMs)
      result.windows++
      for (;;) { // as the runner: engines finish reacting before virtual time moves on
        while (s.step(endMs)) if (wake.pending && s.nextIsLaterOrBarrier()) { await drain(); wake.pending = false }
        if (!wake.pending) break
        await drain()
        wake.pending = false
      }
      const busyMs = performance.now() - busyStart
      result.busyMs += busyMs
      result.busyPerWindowMs.push(busyMs)
    }
  } catch (e) {
    Atomics.store(control, 2, 1) // the other side must not wait for us
    throw e
  }
  return { ...result, stored, events: s.executed, wallMs: performance.now() - start }
}

function publish (ring: SharedArrayBuffer, frames: Crossing[], times: Float64Array, w: number, nextMs: number): void {
  const view = new DataView(ring)
  const bytes = new Uint8Array(ring)
  let offset = 8
  let earliest = Infinity
  for (const f of frames) {
    const size = entryHeadBytes + ((f.frame.length + 7) & ~7)
    if (offset + size > ring.byteLength) throw new Error(`the frames crossing in one window exceed ${ring.byteLength} bytes`)
    view.setFloat64(offset, f.atMs, true)
    view.setFloat64(offset + 8, f.sentAtMs, true)
    view.setInt32(offset + 16, f.from, true)
    view.setInt32(offset + 20, f.to, true)
    view.setInt32(offset + 24, f.frame.length, true)
    bytes.set(f.frame, offset + entryHeadBytes)
    offset += size
    earliest = Math.min(earliest, f.atMs)
  }
  view.setInt32(0, frames.length, true)
  times[2 * w] = nextMs
  times[2 * w + 1] = earliest
}

function consume (ring: SharedArrayBuffer): Crossing[] {
  const view = new DataView(ring)
  const bytes = new Uint8Array(ring)
  const out: Crossing[] = []
  let offset = 8
  for (let k = view.getInt32(0, true); k > 0; k--) {
    const length = view.getInt32(offset + 24, true)
    const start = offset + entryHeadBytes
    out.push({ atMs: view.getFloat64(offset, true), sentAtMs: view.getFloat64(offset + 8, true), from: view.getInt32(offset + 16, true), to: view.getInt32(offset + 20, true), frame: bytes.slice(start, start + length) }) // a copy on an unshared buffer
    offset += entryHeadBytes + ((length + 7) & ~7)
  }
  return out
}

/**
 * Announces generation `gen` and spins until the other worker has too. Spinning, not
 * Atomics.wait: a wake-up costs about 45 µs here, and a run meets tens of thousands of
 * barriers (a first trial that slept after 2,000 spins took about 15% longer in all).
 */
function barrier (control: Int32Array, w: number, gen: number): void {
  Atomics.store(control, w, gen)
  for (;;) {
    for (let i = 0; i < spinsPerCheck; i++) if (Atomics.load(control, 1 - w) >= gen) return
    if (Atomics.load(control, 2) !== 0) throw new Error('the other worker failed')
  }
}
