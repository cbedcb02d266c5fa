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
  members: Map<string, Member>
  removed: Map<string, Removed>
}

/** The resolved state of a closed set of changes (internal form). Treat as immutable: states share maps. */
export interface Resolution extends Core {
  genesis: Info
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
  const problem = x.problem ?? (x.deps.some(d => C.discarded.has(d.gidx)) ? 'depends-on-discarded' : undefined)
  if (problem !== undefined) {
    const discarded = new Map(C.discarded).set(x.gidx, problem)
    return { ...C, discarded, size: C.size + 1 }
  }
  const core: Core = { policy: C.policy, members: new Map(C.members), removed: new Map(C.removed) }
  applyChange(core, x)
  return { ...core, genesis: C.genesis, discarded: C.discarded, heads: [x], size: C.size + 1 }
}

export type ResolveSet = (set: Info[]) => Resolution | undefined

/** Holds the changes of one channel, each with its causal facts. */
export class ChangeGraph {
  readonly infos: Info[] = []
  readonly byKey = new Map<string, Info>()
  readonly #resolveSet: ResolveSet

  constructor (resolveSet: ResolveSet) { this.#resolveSet = resolveSet }

  get size (): number { return this.infos.length }

  /** Everything about `env` as the next change of this graph; its deps must be committed. Not yet added. */
  prepare (env: Envelope, change: Change | undefined): Info {
    const gidx = this.infos.length
    const anc = new Bits(gidx)
    const deps: Info[] = []
    const pastSeq = new Map<string, number>()
    let depth = 0
    for (const d of env.deps) {
      const info = this.byKey.get(toHex(d))
      if (info === undefined) throw new ProtocolError('prepare: dependency not in the graph')
      deps.push(info)
      anc.or(info.anc); anc.set(info.gidx)
      depth = Math.max(depth, info.depth + 1)
      for (const [a, s] of info.maxSeq) if (s > (pastSeq.get(a) ?? 0)) pastSeq.set(a, s)
    }
    const ancCount = anc.count()
    const y: Info = {
      env, key: toHex(env.id), ref: toHex(env.author), gidx, change, deps, depth, anc, ancCount,
      maxSeq: pastSeq, causal: undefined, problem: undefined, rank: -1,
    }
    if (deps.length > 0) {
      const whole = deps.find(d => d.ancCount + 1 === ancCount)
      y.causal = whole !== undefined ? this.after(whole) : this.#resolveSet(this.infos.filter(i => anc.has(i.gidx)))
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
    if (!('after' in y)) y.after = y.causal !== undefined ? extend(y.causal, y) : this.#resolveSet([y])
    return y.after
  }
}
