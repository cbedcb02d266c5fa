/**
 * The scenario's links and nodes compiled into a deterministic timeline: for every
 * link direction, contiguous intervals [startMs, endMs) covering [0, duration) with
 * the link's state (up, bandwidth, latency, loss, …); for every node, its crash
 * intervals. The oracle walks it; the simulator replays its changes.
 *
 * A link direction is up when all of these layers agree:
 * - admin: declared links start up, contact-only links start down; `up`/`down` events
 *   and contact-trace `up`/`down` lines set it (later wins). `heal` never touches it.
 * - flaps: during [from, to) a flap alternates, starting with its UP period; at `to`
 *   the flap layer lets go and the other layers decide. Overlapping flaps must all be up.
 * - partitions: a link between two sides of an active partition is down; `heal` ends
 *   every partition. Nodes on no side keep their links.
 * - clogs: `clog: [a, b]` blocks a → b only, until `unclog: [a, b]` or `heal`.
 * Knob values are the link's configured params with `degrade` overrides merged over
 * them (later degradations win per knob) until `heal`. Changes at the same instant
 * apply in order: events in file order, then contact lines in trace order; zero-length
 * states never appear. Node crashes are kept apart from links (the oracle combines them).
 *
 * @example
 * const tl = compileTimeline(scenario)
 * linkStateAt(tl, 'hq', 'relay-a', 45 * 60_000)?.up   // false: down from 30m to 90m
 * nodeUpAt(tl, 'truck', 50 * 60_000)                   // false: crashed 40m–55m
 */
import type { LinkParams } from './knobs.ts'
import { pairKey } from './scenario-names.ts'
import type { ContactEvent, ResolvedLink, Scenario, SimEvent } from './scenario-types.ts'

/** A link direction's state during one interval. */
export interface LinkState extends LinkParams {
  up: boolean
}

export interface LinkInterval {
  startMs: number
  endMs: number
  state: Readonly<LinkState>
}

/** One direction of a link, `from` → `to`. */
export interface DirectedLink {
  from: string
  to: string
  /** Contiguous, sorted, covering [0, durationMs); neighbours always differ in state. */
  intervals: LinkInterval[]
}

/** A node is down during [startMs, endMs) (end = duration if it never restarts). */
export interface CrashInterval { startMs: number, endMs: number }

export interface Timeline {
  durationMs: number
  /** Node ids in scenario order. */
  nodes: string[]
  /** Directed links by `directedKey(from, to)`. */
  links: ReadonlyMap<string, DirectedLink>
  /** Outgoing directed links per node (every node has an entry). */
  outgoing: ReadonlyMap<string, DirectedLink[]>
  /** Crash intervals per node, sorted (every node has an entry). */
  crashes: ReadonlyMap<string, CrashInterval[]>
}

/** A change the simulator applies at `atMs`; the first entries (at 0) give the initial state. */
export type TimelineChange =
  | { kind: 'node', atMs: number, node: string, up: boolean }
  | { kind: 'link', atMs: number, from: string, to: string, state: Readonly<LinkState> }

export function directedKey (from: string, to: string): string {
  return `${from}\u0000${to}`
}

/** The mutable layers of one undirected link while its operations are replayed. */
interface Layers {
  admin: boolean
  flaps: Map<number, boolean>
  partitions: Set<number>
  overlay: Partial<LinkParams>
  /** Clogged directions: 'ab' is a → b in the link's own orientation. */
  clogs: Set<'ab' | 'ba'>
}

interface Op { atMs: number, seq: number, apply: (l: Layers) => void }

function opsForEvent (e: SimEvent, seq: number, link: ResolvedLink): Op[] {
  const forward = e.kind !== 'clog' && e.kind !== 'unclog' ? 'ab' : e.link.a === link.a ? 'ab' : 'ba'
  switch (e.kind) {
    case 'down': case 'up':
      return [{ atMs: e.atMs, seq, apply: l => { l.admin = e.kind === 'up' } }]
    case 'degrade':
      return [{ atMs: e.atMs, seq, apply: l => { l.overlay = { ...l.overlay, ...e.params } } }]
    case 'clog':
      return [{ atMs: e.atMs, seq, apply: l => { l.clogs.add(forward) } }]
    case 'unclog':
      return [{ atMs: e.atMs, seq, apply: l => { l.clogs.delete(forward) } }]
    case 'flap': {
      const ops: Op[] = []
      for (let t = e.atMs, up = true; t < e.toMs; t += up ? e.upMs : e.downMs, up = !up) {
        const phase = up
        ops.push({ atMs: t, seq, apply: l => { l.flaps.set(seq, phase) } })
      }
      ops.push({ atMs: e.toMs, seq, apply: l => { l.flaps.delete(seq) } })
      return ops
    }
    default:
      return []
  }
}

function separates (sides: string[][], a: string, b: string): boolean {
  const sa = sides.findIndex(s => s.includes(a))
  const sb = sides.findIndex(s => s.includes(b))
  return sa >= 0 && sb >= 0 && sa !== sb
}

/** Events and contacts grouped by the link they touch, each with its tie-break sequence number. */
interface OpIndex {
  /** Partitions and heals: they concern every link. */
  global: Array<{ e: SimEvent, seq: number }>
  byLink: Map<string, Array<{ e: SimEvent, seq: number }>>
  contacts: Map<string, Array<{ c: ContactEvent, seq: number }>>
}

function indexOps (events: SimEvent[], contacts: ContactEvent[]): OpIndex {
  const index: OpIndex = { global: [], byLink: new Map(), contacts: new Map() }
  events.forEach((e, seq) => {
    if (e.kind === 'partition' || e.kind === 'heal') index.global.push({ e, seq })
    else if ('link' in e) {
      const key = pairKey(e.link.a, e.link.b)
      const list = index.byLink.get(key) ?? []
      list.push({ e, seq })
      index.byLink.set(key, list)
    }
  })
  contacts.forEach((c, i) => {
    const key = pairKey(c.a, c.b)
    const list = index.contacts.get(key) ?? []
    list.push({ c, seq: events.length + i })
    index.contacts.set(key, list)
  })
  return index
}

/** Every operation on one link, sorted by (time, seq). */
function linkOps (link: ResolvedLink, index: OpIndex): Op[] {
  const key = pairKey(link.a, link.b)
  const ops: Op[] = []
  for (const { e, seq } of index.global) {
    if (e.kind === 'partition' && separates(e.sides, link.a, link.b)) ops.push({ atMs: e.atMs, seq, apply: l => { l.partitions.add(seq) } })
    if (e.kind === 'heal') ops.push({ atMs: e.atMs, seq, apply: l => { l.partitions.clear(); l.clogs.clear(); l.overlay = {} } })
  }
  for (const { e, seq } of index.byLink.get(key) ?? []) ops.push(...opsForEvent(e, seq, link))
  for (const { c, seq } of index.contacts.get(key) ?? []) ops.push({ atMs: c.atMs, seq, apply: l => { l.admin = c.up } })
  return ops.sort((x, y) => x.atMs - y.atMs || x.seq - y.seq)
}

function stateOf (link: ResolvedLink, l: Layers, dir: 'ab' | 'ba'): LinkState {
  let flapsUp = true
  for (const up of l.flaps.values()) flapsUp &&= up
  const up = l.admin && flapsUp && l.partitions.size === 0 && !l.clogs.has(dir)
  return { ...link.params, ...l.overlay, up }
}

function sameState (x: LinkState, y: LinkState): boolean {
  return x.up === y.up && x.bandwidthBitsPerSecond === y.bandwidthBitsPerSecond && x.latencyMs === y.latencyMs &&
    x.loss === y.loss && x.jitterMs === y.jitterMs && x.duplicate === y.duplicate && x.reorder === y.reorder
}

function push (intervals: LinkInterval[], atMs: number, state: LinkState): void {
  const last = intervals[intervals.length - 1]
  if (last !== undefined && sameState(last.state, state)) return
  if (last !== undefined) last.endMs = atMs
  intervals.push({ startMs: atMs, endMs: Infinity, state: Object.freeze(state) })
}

/** Both directions of one link: [a → b intervals, b → a intervals]. */
function compileLink (link: ResolvedLink, index: OpIndex, durationMs: number): [LinkInterval[], LinkInterval[]] {
  const layers: Layers = { admin: link.origin === 'declared', flaps: new Map(), partitions: new Set(), overlay: {}, clogs: new Set() }
  const ab: LinkInterval[] = []
  const ba: LinkInterval[] = []
  const ops = linkOps(link, index)
  let i = 0
  let t = 0
  for (;;) {
    while (i < ops.length && ops[i].atMs === t) ops[i++].apply(layers)
    push(ab, t, stateOf(link, layers, 'ab'))
    push(ba, t, stateOf(link, layers, 'ba'))
    if (i >= ops.length || ops[i].atMs >= durationMs) break
    t = ops[i].atMs
  }
  ab[ab.length - 1].endMs = durationMs
  ba[ba.length - 1].endMs = durationMs
  return [ab, ba]
}

function compileCrashes (scenario: Scenario): Map<string, CrashInterval[]> {
  const crashes = new Map<string, CrashInterval[]>(scenario.nodes.map(n => [n.id, []]))
  for (const e of scenario.events) {
    if (e.kind === 'crash') crashes.get(e.node)?.push({ startMs: e.atMs, endMs: scenario.durationMs })
    if (e.kind === 'restart') {
      const list = crashes.get(e.node) ?? []
      list[list.length - 1].endMs = e.atMs
    }
  }
  for (const [node, list] of crashes) crashes.set(node, list.filter(c => c.endMs > c.startMs && c.startMs < scenario.durationMs))
  return crashes
}

/** Compile the scenario's links, events and contacts into a timeline. */
export function compileTimeline (scenario: Scenario): Timeline {
  const links = new Map<string, DirectedLink>()
  const outgoing = new Map<string, DirectedLink[]>(scenario.nodes.map(n => [n.id, []]))
  const index = indexOps(scenario.events, scenario.contacts)
  for (const link of scenario.links) {
    const [ab, ba] = compileLink(link, index, scenario.durationMs)
    for (const d of [{ from: link.a, to: link.b, intervals: ab }, { from: link.b, to: link.a, intervals: ba }]) {
      links.set(directedKey(d.from, d.to), d)
      outgoing.get(d.from)?.push(d)
    }
  }
  return { durationMs: scenario.durationMs, nodes: scenario.nodes.map(n => n.id), links, outgoing, crashes: compileCrashes(scenario) }
}

/** Index of the interval containing `atMs` (intervals are contiguous from 0), or -1 if outside. */
export function intervalIndexAt (intervals: readonly { startMs: number, endMs: number }[], atMs: number): number {
  let lo = 0
  let hi = intervals.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (atMs < intervals[mid].startMs) hi = mid - 1
    else if (atMs >= intervals[mid].endMs) lo = mid + 1
    else return mid
  }
  return -1
}

/** State of the direction `a` → `b` at `atMs`; undefined if there is no such link or `atMs` is outside [0, duration). */
export function linkStateAt (timeline: Timeline, a: string, b: string, atMs: number): Readonly<LinkState> | undefined {
  const link = timeline.links.get(directedKey(a, b))
  if (link === undefined) return undefined
  const i = intervalIndexAt(link.intervals, atMs)
  return i < 0 ? undefined : link.intervals[i].state
}

/** Whether `node` is running (not crashed) at `atMs`. */
export function nodeUpAt (timeline: Timeline, node: string, atMs: number): boolean {
  return intervalIndexAt(timeline.crashes.get(node) ?? [], atMs) < 0
}

/**
 * Every change in time order: node crashes and restarts first at each instant, then link
 * directions in link declaration order. Link entries at 0 give every direction's initial state.
 */
export function timelineChanges (timeline: Timeline): TimelineChange[] {
  const out: Array<TimelineChange & { seq: number }> = []
  let seq = 0
  for (const [node, list] of timeline.crashes) {
    for (const c of list) {
      out.push({ kind: 'node', atMs: c.startMs, node, up: false, seq: seq++ })
      if (c.endMs < timeline.durationMs) out.push({ kind: 'node', atMs: c.endMs, node, up: true, seq: seq++ })
    }
  }
  for (const link of timeline.links.values()) {
    for (const iv of link.intervals) out.push({ kind: 'link', atMs: iv.startMs, from: link.from, to: link.to, state: iv.state, seq: seq++ })
  }
  out.sort((x, y) => x.atMs - y.atMs || (x.kind === y.kind ? x.seq - y.seq : x.kind === 'node' ? -1 : 1))
  return out.map(({ seq: _seq, ...change }) => change as TimelineChange)
}
