/**
 * The governance DAG of one channel as the resolver sees it: one `Info` per change
 * with its decoded body, depth, ancestor set (a bitset), per-author highest sequence
 * in its past, the state resolved from its causal past, and the static verdict
 * ("may this author make this change, judged from its causal past").
 *
 * A change's causal past is fixed by its id (the deps are hashed into it), so all of
 * this is computed once, when the change enters the graph, and never changes.
 * The causal state of a change with one dep (or whose past equals one dep's past plus
 * that dep) is that dep's state extended by the dep: O(members); only merges need a
 * full resolution of their past (docs/CHANNELS.md "Resolution", costs).
 *
 * @example
 * const g = new ChangeGraph()
 * const info = g.prepare(env, decodeChange(env.body))   // deps must already be in g
 * if (info.problem === undefined) g.commit(info)
 */
import { bytesEqual, compareBytes, toHex } from '../bytes.ts'
import { authorRefBytes, type Envelope } from '../envelope.ts'
import { ProtocolError } from '../errors.ts'
import { CowMap } from './cow-map.ts'
import type { Change, Policy } from './governance.ts'
import { mayAdd, mayChangePolicy, mayRevoke, maySetRole, roleRank, type Role } from './roles.ts'

/** Why a change is not part of the resolved state. */
export type DiscardReason =
  | 'invalid' | 'no-genesis' | 'second-genesis' | 'not-member' | 'removed-author' | 'seq-not-increasing'
  | 'not-permitted' | 'last-owner' | 'target-not-member' | 'target-exists' | 'cut-below-past' | 'self-removal'
  | 'depends-on-discarded' | 'cut' | 'revocation-conflict' | 'missing-dep'

export interface Member { ed: Uint8Array, x: Uint8Array, role: Role }
/** A removed member: envelopes with seq ≤ cutSeq stay valid; `role` is the role held when removed. */
export interface Removed { ed: Uint8Array, cutSeq: number, role: Role }

/** Membership and policy, keyed by author reference (hex of the key's first 8 bytes). */
export interface Core {
  policy: Policy
  members: CowMap<Member>
  removed: CowMap<Removed>
}

/**
 * Where resolution starts: the genesis, or (in a compacted graph, see compact.ts) the
 * change every other change of the set descends from, with the state its past and it resolve to.
 */
export interface Root {
  info: Info
  /** resolve(past(info) ∪ {info}); undefined when `info` is the genesis (the state then starts empty). */
  core: Core | undefined
  /** The genesis id: the channel id. */
  channelId: Uint8Array
}

/** What a compacted graph keeps of the change it was compacted at (compact.ts). */
export interface RootSeed {
  env: Envelope
  change: Change
  depth: number
  rank: number
  maxSeq: Map<string, number>
  /** resolve(past(K) ∪ {K}), which compaction requires to agree with the whole set's verdicts on it. */
  core: Core
  channelId: Uint8Array
  /** Status of a change folded into the root: 'accepted', 'discarded', or undefined when not folded. */
  folded: (key: string) => 'accepted' | 'discarded' | undefined
}

/** The resolved state of a closed set of changes (internal form). Treat as immutable: states share maps. */
export interface Resolution extends Core {
  root: Root
  /** The genesis id (the channel id), also when the genesis itself was compacted away. */
  channelId: Uint8Array
  /** gidx → reason, for every change of the set that is not accepted. */
  discarded: Map<number, DiscardReason>
  /** Accepted changes no other accepted change depends on, ascending id. */
  heads: Info[]
  /** Number of changes in the set. */
  size: number
}

export interface Info {
  env: Envelope
  key: string
  /** Author reference, hex. */
  ref: string
  /** Position in the graph; ancestors always have smaller positions. */
  gidx: number
  change: Change | undefined
  deps: Info[]
  depth: number
  anc: Bits
  ancCount: number
  /** Highest seq per author over the past and this change. */
  maxSeq: Map<string, number>
  /** resolve(past); undefined when the past has no genesis (or is empty). */
  causal: Resolution | undefined
  /** The static verdict against `causal`; undefined when authorised. */
  problem: DiscardReason | undefined
  /** The author's role rank in `causal` (owner 3 … reader 0; −1 none): removal priority. */
  rank: number
  /**
   * A dep that a compaction folded into the root was discarded: this change depends on a
   * discarded change, as it would in the uncompacted graph (its other deps hold the root).
   */
  pastDiscarded: boolean
  after?: Resolution | undefined
}

export class Bits {
  readonly words: Uint32Array
  constructor (size: number) { this.words = new Uint32Array((size >> 5) + 1) }
  has (i: number): boolean { return (i >> 5) < this.words.length && (this.words[i >> 5] & (1 << (i & 31))) !== 0 }
  set (i: number): void { this.words[i >> 5] |= 1 << (i & 31) }
  or (other: Bits): void { for (let i = 0; i < other.words.length; i++) this.words[i] |= other.words[i] }
  count (): number {
    let n = 0
    for (let w of this.words) { while (w !== 0) { w &= w - 1; n++ } }
    return n
  }
}

export function refOf (ed: Uint8Array): string {
  return toHex(ed.subarray(0, authorRefBytes))
}

export function byDepthThenId (a: Info, b: Info): number {
  return a.depth - b.depth || compareBytes(a.env.id, b.env.id)
}

export function ownerCount (core: Core): number {
  let n = 0
  for (const m of core.members.values()) if (m.role === 'owner') n++
  return n
}

/** Apply one accepted change to `core` (mutates). Adds never overwrite; removal is permanent for a key. */
export function applyChange (core: Core, y: Info): void {
  const c = y.change as Change
  switch (c.op) {
    case 'create':
      core.members.set(y.ref, { ed: c.ownerEd, x: c.ownerX, role: 'owner' })
      core.policy = c.policy
      return
    case 'add': {
      const t = refOf(c.memberEd)
      if (!core.members.has(t) && !core.removed.has(t)) core.members.set(t, { ed: c.memberEd, x: c.memberX, role: c.role })
      return
    }
    case 'remove': {
      const t = refOf(c.memberEd)
      const was = core.members.get(t)
      const prev = core.removed.get(t)
      core.members.delete(t)
      core.removed.set(t, { ed: c.memberEd, cutSeq: Math.min(prev?.cutSeq ?? Infinity, c.cutSeq), role: prev?.role ?? was?.role ?? 'member' })
      return
    }
    case 'role': {
      const t = refOf(c.memberEd)
      const m = core.members.get(t)
      if (m !== undefined) core.members.set(t, { ...m, role: c.role })
      return
    }
    case 'policy':
      core.policy = c.policy
  }
}

function targetMember (C: Core, ed: Uint8Array): Member | undefined {
  const m = C.members.get(refOf(ed))
  return m !== undefined && bytesEqual(m.ed, ed) ? m : undefined
}

/** The static verdict: may this author make this change, judged from `C` = resolve(past)? */
export function staticProblem (y: Info, C: Resolution | undefined, pastSeq: Map<string, number>): DiscardReason | undefined {
  const c = y.change
  if (c === undefined) return 'invalid'
  if (c.op === 'create') return y.deps.length === 0 && y.env.seq === 1 ? undefined : 'invalid'
  if (C === undefined) return 'no-genesis'
  const author = C.members.get(y.ref)
  if (author === undefined) return C.removed.has(y.ref) ? 'removed-author' : 'not-member'
  if (y.env.seq <= (pastSeq.get(y.ref) ?? 0)) return 'seq-not-increasing'
  switch (c.op) {
    case 'add': {
      const t = refOf(c.memberEd)
      if (C.members.has(t) || C.removed.has(t)) return 'target-exists'
      return mayAdd(author.role, c.role) ? undefined : 'not-permitted'
    }
    case 'remove': {
      const target = targetMember(C, c.memberEd)
      if (target === undefined) return 'target-not-member'
      if (refOf(c.memberEd) === y.ref) return 'self-removal'
      if (!mayRevoke(author.role, target.role)) return 'not-permitted'
      if (target.role === 'owner' && ownerCount(C) < 2) return 'last-owner'
      // A cut below what the remover's own past holds would discard the removal's own ancestors.
      return c.cutSeq < (pastSeq.get(refOf(c.memberEd)) ?? 0) ? 'cut-below-past' : undefined
    }
    case 'role': {
      const target = targetMember(C, c.memberEd)
      if (target === undefined) return 'target-not-member'
      if (!maySetRole(author.role, target.role, c.role)) return 'not-permitted'
      return target.role === 'owner' && c.role !== 'owner' && ownerCount(C) < 2 ? 'last-owner' : undefined
    }
    case 'policy':
      return mayChangePolicy(author.role) ? undefined : 'not-permitted'
  }
}

/** resolve(P ∪ {x}) from C = resolve(P), valid when P is exactly x's past (x is then the only head). */
export function extend (C: Resolution, x: Info): Resolution {
  const problem = x.problem ?? (x.pastDiscarded || x.deps.some(d => C.discarded.has(d.gidx)) ? 'depends-on-discarded' : undefined)
  if (problem !== undefined) {
    const discarded = new Map(C.discarded).set(x.gidx, problem)
    return { ...C, discarded, size: C.size + 1 }
  }
  // Fork only what the change writes: an unchanged map stays the same object, which lets a
  // relay see cheaply that no removal changed (GovernanceStore.removalsChanged).
  const op = x.change?.op
  const core: Core = { policy: C.policy, members: op === 'policy' ? C.members : C.members.fork(), removed: op === 'remove' ? C.removed.fork() : C.removed }
  applyChange(core, x)
  return { ...core, root: C.root, channelId: C.channelId, discarded: C.discarded, heads: [x], size: C.size + 1 }
}

export type ResolveSet = (set: Info[], root?: Root) => Resolution | undefined

/** Holds the changes of one channel, each with its causal facts. */
export class ChangeGraph {
  readonly infos: Info[] = []
  readonly byKey = new Map<string, Info>()
  readonly #resolveSet: ResolveSet
  /** Set when the graph starts at a compacted root rather than at the genesis. */
  readonly root: Root | undefined
  readonly #folded: RootSeed['folded'] | undefined

  constructor (resolveSet: ResolveSet, seed?: RootSeed) {
    this.#resolveSet = resolveSet
    if (seed === undefined) return
    const { env } = seed
    const info: Info = {
      env, key: toHex(env.id), ref: toHex(env.author), gidx: 0, change: seed.change, deps: [], depth: seed.depth,
      anc: new Bits(0), ancCount: 0, maxSeq: seed.maxSeq, causal: undefined, problem: undefined, rank: seed.rank, pastDiscarded: false,
    }
    this.root = { info, core: seed.core, channelId: seed.channelId }
    info.after = { ...seed.core, root: this.root, channelId: seed.channelId, discarded: new Map(), heads: [info], size: 1 }
    this.#folded = seed.folded
    this.commit(info)
  }

  get size (): number { return this.infos.length }

  /**
   * Whether `env` descends from the graph's root: always, unless the graph was compacted and
   * every dep of `env` was folded into the root (it is then concurrent with the root, and only a
   * graph started further back can hold it: compact.ts rebuilds one).
   */
  holds (env: Envelope): boolean {
    return this.root === undefined || env.deps.some(d => this.byKey.has(toHex(d)))
  }

  /** Everything about `env` as the next change of this graph; its deps must be committed. Not yet added. */
  prepare (env: Envelope, change: Change | undefined): Info {
    const gidx = this.infos.length
    const anc = new Bits(gidx)
    const deps: Info[] = []
    const pastSeq = new Map<string, number>()
    let depth = 0
    let pastDiscarded = false
    for (const d of env.deps) {
      const key = toHex(d)
      const info = this.byKey.get(key)
      if (info === undefined) {
        // A dep folded into the root is in the root's past, which this change's other deps hold.
        const folded = this.#folded?.(key)
        if (folded === undefined || !this.holds(env)) throw new ProtocolError('prepare: dependency not in the graph')
        pastDiscarded ||= folded === 'discarded'
        continue
      }
      deps.push(info)
      anc.or(info.anc); anc.set(info.gidx)
      depth = Math.max(depth, info.depth + 1)
      for (const [a, s] of info.maxSeq) if (s > (pastSeq.get(a) ?? 0)) pastSeq.set(a, s)
    }
    const ancCount = anc.count()
    const y: Info = {
      env, key: toHex(env.id), ref: toHex(env.author), gidx, change, deps, depth, anc, ancCount,
      maxSeq: pastSeq, causal: undefined, problem: undefined, rank: -1, pastDiscarded,
    }
    if (deps.length > 0) {
      const whole = deps.find(d => d.ancCount + 1 === ancCount)
      y.causal = whole !== undefined ? this.after(whole) : this.#resolveSet(this.infos.filter(i => anc.has(i.gidx)), this.root)
    }
    y.problem = staticProblem(y, y.causal, pastSeq)
    const role = change?.op === 'create' ? 'owner' : y.causal?.members.get(y.ref)?.role
    y.rank = role === undefined ? -1 : roleRank(role)
    y.maxSeq = new Map(pastSeq).set(y.ref, Math.max(pastSeq.get(y.ref) ?? 0, env.seq))
    return y
  }

  commit (y: Info): void {
    if (y.gidx !== this.infos.length) throw new ProtocolError('commit: graph changed since prepare')
    this.infos.push(y)
    this.byKey.set(y.key, y)
  }

  /** resolve(past(y) ∪ {y}), memoised. */
  after (y: Info): Resolution | undefined {
    if (!('after' in y)) y.after = y.causal !== undefined ? extend(y.causal, y) : this.#resolveSet([y], this.root)
    return y.after
  }
}
