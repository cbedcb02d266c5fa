/**
 * Compaction: one channel's governance held as a window of recent changes above a root,
 * so that a standing channel's years of changes cost memory and time per change, not per
 * pair of changes (docs/CHANNELS.md "Long histories").
 *
 * A change K can be a root when every other change is an ancestor or a descendant of it,
 * or dead under it (cut by a removal in K's past, or depending on such a change). Nothing
 * descending from K can discard anything in K's past (a removal may not cut below what its
 * own past holds: 'cut-below-past'), every revocation in K's past settles before any
 * descending from it, and a dead change's verdict was settled before anything above K, so
 * resolve(set) is resolve(past(K) ∪ {K}) continued with K's descendants. The window keeps the
 * changes from the latest such K (its root) on; what came before is folded into the root's
 * state: ids and verdicts only. Resolution semantics do not change: a replica that compacts
 * and one that does not compute byte-identical state (test/governance-compact.test.ts).
 *
 * A change that arrives concurrent with the root (every dep folded, as from a phone back
 * after months offline) makes the root no root any more: the window is rebuilt from the
 * newest earlier root that change descends from, with the change in causal order, and the
 * log of every kept change (what relays serve) supplies the envelopes.
 *
 * @example
 * const ch = new CompactingGraph(resolveSet, { compactAt: 512, keep: 256, windowMax: 1024 })
 * const t = ch.target(env)                 // the window, or one rebuilt further back
 * if (t.graph !== undefined) ch.commit(t, t.graph.prepare(env, change))   // once verified
 * ch.resolution()                          // the window's state; foldedVerdicts() the rest
 */
import { toHex } from '../bytes.ts'
import type { Envelope } from '../envelope.ts'
import { ProtocolError } from '../errors.ts'
import { ChangeGraph, extend, type DiscardReason, type Info, type Resolution, type ResolveSet, type RootSeed } from './causal.ts'
import { decodeChange, type Change } from './governance.ts'

/** A change folded into a root: the window it left, its author (hex) and its verdict (null: accepted). */
interface Folded { segment: number, ref: string, reason: DiscardReason | null }

/**
 * The graph a change enters: the window, or one rebuilt from an earlier root (`segment` ≥ 0);
 * none (`graph` undefined) when the window it needs would exceed `windowMax`.
 */
export interface Target {
  graph: ChangeGraph | undefined
  log: Envelope[]
  segment: number
  /** Changes the window will hold once the change is in. */
  windowSize: number
}

/**
 * Where a window started: its root's place in the log, and what the root's graph starts from
 * (undefined: the genesis). A root more than `windowMax` changes down cannot start a window
 * any change may need, so its seed (a copy of the state then) is dropped: 'gone'.
 */
interface Segment { start: number, seed: RootSeed | undefined | 'gone' }

export interface CompactionLimits {
  /** Compact once the window holds this many changes. */
  compactAt: number
  /** Changes kept above the new root: concurrent arrivals this recent need no rebuild. */
  keep: number
  /** Most changes a window may hold. */
  windowMax: number
}

export class CompactingGraph {
  graph: ChangeGraph
  /** Every kept change of the channel in causal order (a parent before its children). */
  #log: Envelope[] = []
  readonly #folded = new Map<string, Folded>()
  #foldedList: Array<readonly [string, DiscardReason | null]> = []
  #segments: Segment[] = [{ start: 0, seed: undefined }]
  readonly #resolveSet: ResolveSet
  readonly #limits: CompactionLimits
  #current: Resolution | undefined
  #nextCompaction: number
  /** Times the window moved up to a new root, and was rebuilt from an earlier one. */
  compactions = 0
  rebuilds = 0

  constructor (resolveSet: ResolveSet, limits: CompactionLimits) {
    this.#resolveSet = resolveSet
    this.#limits = limits
    this.graph = new ChangeGraph(resolveSet)
    this.#nextCompaction = limits.compactAt
  }

  /** Changes kept, window and folded. */
  get size (): number { return this.#log.length }

  /** Changes in the window (what resolution works over). */
  get windowSize (): number { return this.graph.size }

  knows (key: string): boolean { return this.graph.byKey.has(key) || this.#folded.has(key) }

  /** Author reference (hex) of a kept change. */
  authorOf (key: string): string | undefined {
    return this.graph.byKey.get(key)?.ref ?? this.#folded.get(key)?.ref
  }

  /** Every kept change, in causal order. */
  changes (): Envelope[] { return [...this.#log] }

  /** Verdicts of changes folded into roots, for the public state (null: accepted); grows, or is replaced. */
  foldedVerdicts (): ReadonlyArray<readonly [string, DiscardReason | null]> { return this.#foldedList }

  /**
   * The graph `env` would enter: the window, or a window rebuilt from an earlier root when
   * `env` is concurrent with the current one. Nothing is changed until `commit`.
   */
  target (env: Envelope): Target {
    if (this.graph.holds(env)) {
      const windowSize = this.graph.size + 1
      return { graph: windowSize > this.#limits.windowMax ? undefined : this.graph, log: this.#log, segment: -1, windowSize }
    }
    let segment = 0
    for (const d of env.deps) segment = Math.max(segment, this.#folded.get(toHex(d))?.segment ?? 0)
    const deps = new Set(env.deps.map(toHex))
    let at = 0
    this.#log.forEach((e, i) => { if (deps.has(toHex(e.id))) at = i })
    const log = [...this.#log.slice(0, at + 1), env, ...this.#log.slice(at + 1)]
    const { seed } = this.#segments[segment]
    const above = this.#windowAbove(log, segment)
    const windowSize = above.length + (seed === undefined ? 0 : 1)
    if (seed === 'gone' || windowSize > this.#limits.windowMax) return { graph: undefined, log, segment, windowSize }
    const graph = new ChangeGraph(this.#resolveSet, seed)
    for (const e of above) {
      if (e === env) break
      graph.commit(graph.prepare(e, decodeChange(e.body)))
    }
    return { graph, log, segment, windowSize }
  }

  /** Add a prepared (and verified) change to the graph `target` gave; finishes a rebuild. */
  commit (t: Target, info: Info): void {
    const graph = t.graph
    if (graph === undefined) throw new ProtocolError('commit: the change has no window (target refused it)')
    if (t.segment < 0) {
      // A change that cites everything known extends the state in O(members); anything else
      // (a merge, or arrival out of causal order) leaves it to be resolved once, when next read.
      const whole = this.#current !== undefined && info.ancCount === this.graph.size
      graph.commit(info)
      this.#log.push(info.env)
      this.#current = whole ? extend(this.#current as Resolution, info) : undefined
      this.#maybeCompact()
      return
    }
    graph.commit(info)
    // Rebuilt: the changes after `info` in the log re-enter the window, and segments from the
    // one rebuilt on are gone (their roots are roots no longer).
    const above = this.#windowAbove(t.log, t.segment)
    for (const e of above.slice(above.indexOf(info.env) + 1)) graph.commit(graph.prepare(e, decodeChange(e.body)))
    this.#log = t.log
    for (const [k, f] of this.#folded) if (f.segment >= t.segment) this.#folded.delete(k)
    this.#foldedList = [...this.#folded].map(([k, f]) => [k, f.reason] as const)
    this.#segments = this.#segments.slice(0, t.segment + 1)
    this.graph = graph
    this.#current = undefined
    this.rebuilds++
    this.#nextCompaction = this.#limits.compactAt
    this.#maybeCompact()
  }

  /** The resolution of the window (and so, with the folded verdicts, of the whole set). */
  resolution (): Resolution | undefined {
    this.#current ??= this.#resolveSet(this.graph.infos, this.graph.root)
    return this.#current
  }

  #maybeCompact (): void {
    if (this.graph.size < this.#nextCompaction) return
    const current = this.resolution()
    const point = current === undefined ? undefined : this.#compactionPoint(current)
    if (point === undefined) {
      this.#nextCompaction = this.graph.size + (this.#limits.compactAt >> 1)
      return
    }
    this.#compactAt(point.p, point.dead, current as Resolution)
    this.#nextCompaction = Math.max(this.#limits.compactAt, this.graph.size + 1)
  }

  /**
   * The latest accepted change K at least `keep` below the window's top that every other
   * change is an ancestor or a descendant of, or else dead under K, and whose causal
   * resolution agrees with the whole set's on its past (`agrees`); undefined when none.
   * Dead: discarded, and cut by a removal in K's past (its author removed in K's state below
   * its seq) or depending on such a change. Such a verdict was settled before anything that
   * descends from K, so nothing added above K can change it (docs/CHANNELS.md "Long histories").
   */
  #compactionPoint (current: Resolution): { p: number, dead: Set<number> } | undefined {
    const infos = this.graph.infos
    for (let p = infos.length - 1 - this.#limits.keep; p > 0; p--) {
      const K = infos[p]
      if (current.discarded.has(p)) continue
      const after = this.graph.after(K)
      if (after === undefined || !agrees(K, after, current)) continue
      const dead = new Set<number>()
      let ok = true
      for (let q = 0; q < infos.length && ok; q++) {
        const y = infos[q]
        if (q === p || (q < p ? K.anc.has(q) : y.anc.has(p))) continue
        const cut = after.removed.get(y.ref)
        const isDead = current.discarded.has(q) &&
          ((cut !== undefined && y.env.seq > cut.cutSeq) || y.pastDiscarded || y.deps.some(d => dead.has(d.gidx)))
        if (isDead) dead.add(q)
        else ok = false
      }
      if (ok) return { p, dead }
    }
    return undefined
  }

  #compactAt (p: number, dead: Set<number>, current: Resolution): void {
    const infos = this.graph.infos
    const K = infos[p]
    const after = this.graph.after(K)
    if (after === undefined || K.change === undefined) throw new ProtocolError('compact: the root has no state')
    const segment = this.#segments.length - 1
    for (let i = 0; i < infos.length; i++) {
      if (i >= p && !dead.has(i)) continue
      const reason = current.discarded.get(infos[i].gidx) ?? null
      this.#folded.set(infos[i].key, { segment, ref: infos[i].ref, reason })
      this.#foldedList.push([infos[i].key, reason])
    }
    const below = segment + 1
    const seed: RootSeed = {
      env: K.env, change: K.change as Change, depth: K.depth, rank: K.rank, maxSeq: K.maxSeq,
      core: { policy: after.policy, members: after.members, removed: after.removed },
      channelId: current.channelId,
      folded: key => {
        const f = this.#folded.get(key)
        return f === undefined || f.segment >= below ? undefined : f.reason === null ? 'accepted' : 'discarded'
      },
    }
    const graph = new ChangeGraph(this.#resolveSet, seed)
    for (let i = p + 1; i < infos.length; i++) if (!dead.has(i)) graph.commit(graph.prepare(infos[i].env, infos[i].change))
    this.#segments.push({ start: this.#log.indexOf(K.env), seed })
    const reach = this.#log.length - this.#limits.windowMax
    for (const g of this.#segments) if (g.start < reach && g.seed !== undefined && g !== this.#segments.at(-1)) g.seed = 'gone'
    this.compactions++
    this.graph = graph
    this.#current = undefined
  }

  /** The log's changes a window rebuilt from `segment`'s root holds after the root: none folded below it. */
  #windowAbove (log: Envelope[], segment: number): Envelope[] {
    const { start, seed } = this.#segments[segment]
    return log.slice(seed === undefined ? 0 : start + 1).filter(e => (this.#folded.get(toHex(e.id))?.segment ?? segment) >= segment)
  }
}

/**
 * Whether K's own causal resolution, resolve(past(K) ∪ {K}), accepts exactly what the whole
 * set accepts of past(K) ∪ {K}. It may not where a change dead under K took part in settling
 * K's past (an owner it granted counted in an owner check before the change was cut); K's
 * descendants start their causal pasts from the former and the window from the latter, so
 * only a K where they agree can be a root.
 */
function agrees (K: Info, after: Resolution, current: Resolution): boolean {
  if (after.discarded.has(K.gidx) !== current.discarded.has(K.gidx)) return false
  for (let q = 0; q < K.gidx; q++) {
    if (K.anc.has(q) && after.discarded.has(q) !== current.discarded.has(q)) return false
  }
  return true
}
