/**
 * A replica's governance: the verified changes of every channel it knows, the changes
 * waiting for unknown parents, and the resolved state of each channel. Adding is
 * idempotent and order-free: any arrival order of the same changes gives the same
 * state (test/governance-property.test.ts).
 *
 * `add` verifies before it keeps anything: the genesis rule and owner signature for a
 * create; for any other change, the signature by the author's key as its causal past
 * names it, and the static verdict (may this author do this, judged from that past).
 * Refused changes are remembered (bounded) so that their descendants are refused too.
 *
 * @example
 * const store = new GovernanceStore(crypto)
 * store.add(genesisEnv)                     // { status: 'accepted', … }
 * store.add(childOfUnknown)                 // { status: 'pending', … } until its parent is added
 * store.state(channelRef)?.members          // resolved membership
 * store.removals(channelRef)                // [{ author, ed, cutSeq }] to purge later envelopes
 */
import { fromHex, toHex } from '../bytes.ts'
import { authorRefBytes, Kind, verifySignature, type Envelope } from '../envelope.ts'
import { isDdilError } from '../errors.ts'
import { governanceChangesMax, governanceCompactAtChanges, governanceWindowChangesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { genesisProblem } from './builders.ts'
import { decodeChange, type Change } from './governance.ts'
import type { DiscardReason, Removed } from './causal.ts'
import type { CowMap } from './cow-map.ts'
import { CompactingGraph } from './compact.ts'
import { PendingPool, RefusedIds, type Held, type PendingLimits } from './pending.ts'
import { resolveSet } from './resolve.ts'
import { publicState, type GovernanceState } from './state.ts'

/** Why `add` refused a change for good (the static reasons come from the change's causal past). */
export type RefusalReason =
  | 'not-governance' | 'invalid' | 'genesis' | 'signature' | 'limit' | 'depends-on-refused'
  | Exclude<DiscardReason, 'depends-on-discarded' | 'cut' | 'revocation-conflict' | 'missing-dep' | 'second-genesis'>

export type AddResult =
  | { status: 'accepted', duplicate: boolean, publicKey: Uint8Array, released: Envelope[], dropped: Held[] }
  | { status: 'pending', reason: 'unknown-parent', missing: number }
  | { status: 'refused', reason: RefusalReason, detail: string, dropped: Held[] }

/** What `removalsChanged` compares against: the removed members as they were. */
export type RemovalsToken = CowMap<Removed>

export interface Removal {
  /** The removed member's 8-byte author reference (what envelope headers carry). */
  author: Uint8Array
  ed: Uint8Array
  cutSeq: number
}

interface Channel {
  graph: CompactingGraph
  authorKeys: Map<string, Uint8Array>
  /** The public view of the whole set's resolution; undefined when stale (made on demand). */
  view: GovernanceState | undefined
}

type One = AddResult | { status: 'accepted-one', duplicate: boolean, publicKey: Uint8Array, key: string }

export interface GovernanceStoreOptions {
  pending?: Partial<PendingLimits>
  /** Most changes one channel may hold (`governanceChangesMax`). */
  changesMax?: number
  /** Most changes resolution works over at once, above the compacted root (`governanceWindowChangesMax`). */
  windowMax?: number
  /** Compact once the window holds this many (`governanceCompactAtChanges`); tests make it small. */
  compactAt?: number
  refusedMax?: number
}

export class GovernanceStore {
  readonly #crypto: Crypto
  readonly #channels = new Map<string, Channel>()
  readonly #pending: PendingPool
  readonly #refused: RefusedIds
  readonly #changesMax: number
  readonly #windowMax: number
  readonly #compactAt: number

  constructor (crypto: Crypto, options: GovernanceStoreOptions = {}) {
    this.#crypto = crypto
    this.#pending = new PendingPool(options.pending)
    this.#refused = new RefusedIds(options.refusedMax)
    this.#changesMax = options.changesMax ?? governanceChangesMax
    this.#windowMax = options.windowMax ?? governanceWindowChangesMax
    this.#compactAt = options.compactAt ?? governanceCompactAtChanges
  }

  /** Add one governance envelope; releases (or refuses) the pending changes that waited on it. */
  add (env: Envelope, receivedMs = 0): AddResult {
    const first = this.#addOne(env, receivedMs)
    if (first.status !== 'accepted-one') return first
    const released: Envelope[] = []
    const dropped: Held[] = []
    const queue = first.duplicate ? [] : [first.key]
    while (queue.length > 0) {
      for (const h of this.#pending.release(queue.shift() as string)) {
        const r = this.#addOne(h.env, h.receivedMs)
        if (r.status === 'accepted-one') { released.push(h.env); queue.push(r.key) } else if (r.status === 'refused') dropped.push(h, ...r.dropped)
      }
    }
    return { status: 'accepted', duplicate: first.duplicate, publicKey: first.publicKey, released, dropped }
  }

  /** Refuse; when for good, remember the id and refuse everything held on it, transitively. */
  #refuse (key: string, reason: RefusalReason, detail: string, remember = true): AddResult {
    const dropped: Held[] = []
    if (remember) {
      this.#refused.add(key, reason)
      const queue = [key]
      while (queue.length > 0) {
        for (const h of this.#pending.dropDependents(queue.shift() as string)) {
          this.#refused.add(h.key, 'depends-on-refused'); dropped.push(h); queue.push(h.key)
        }
      }
    }
    return { status: 'refused', reason, detail, dropped }
  }

  #addOne (env: Envelope, receivedMs: number): One {
    const key = toHex(env.id)
    const chKey = toHex(env.channel)
    const knownRef = this.#channels.get(chKey)?.graph.authorOf(key)
    if (knownRef !== undefined) return { status: 'accepted-one', duplicate: true, publicKey: this.#keyOf(chKey, knownRef), key }
    if (this.#pending.has(key)) return { status: 'pending', reason: 'unknown-parent', missing: this.#pending.get(key)?.missing.size ?? 0 }
    const before = this.#refused.get(key)
    if (before !== undefined) return { status: 'refused', reason: before as RefusalReason, detail: 'refused before', dropped: [] }
    if (env.kind !== Kind.governance) return this.#refuse(key, 'not-governance', 'not a governance envelope', false)
    let change: Change
    try {
      change = decodeChange(env.body)
    } catch (e) {
      if (!isDdilError(e)) throw e
      return this.#refuse(key, 'invalid', e.message)
    }
    if (env.epoch !== 0) return this.#refuse(key, 'invalid', 'governance envelopes are not sealed: epoch must be 0')
    if (change.op === 'create') return this.#addGenesis(env, change, key, chKey)
    if (env.deps.length === 0) return this.#refuse(key, 'no-genesis', 'a change must descend from the genesis')
    for (const d of env.deps) {
      if (this.#refused.get(toHex(d)) !== undefined) return this.#refuse(key, 'depends-on-refused', `parent ${toHex(d)} was refused`)
    }
    const ch = this.#channels.get(chKey)
    const missing = env.deps.map(toHex).filter(d => ch?.graph.knows(d) !== true)
    if (missing.length > 0 || ch === undefined) {
      this.#pending.hold(env, missing, receivedMs)
      if (!this.#pending.has(key)) return this.#refuse(key, 'limit', 'pending pool full', false)
      return { status: 'pending', reason: 'unknown-parent', missing: missing.length }
    }
    return this.#insert(ch, env, change, key, chKey)
  }

  #addGenesis (env: Envelope, change: Extract<Change, { op: 'create' }>, key: string, chKey: string): One {
    const problem = genesisProblem(this.#crypto, env, change)
    if (problem !== undefined) return this.#refuse(key, 'genesis', problem)
    let ch = this.#channels.get(chKey)
    if (ch === undefined) {
      ch = { graph: new CompactingGraph(resolveSet, { compactAt: this.#compactAt, keep: this.#compactAt >> 1, windowMax: this.#windowMax }), authorKeys: new Map(), view: undefined }
      this.#channels.set(chKey, ch)
    }
    return this.#insert(ch, env, change, key, chKey, change.ownerEd)
  }

  #insert (ch: Channel, env: Envelope, change: Change, key: string, chKey: string, genesisKey?: Uint8Array): One {
    if (ch.graph.size >= this.#changesMax) return this.#refuse(key, 'limit', `channel holds ${ch.graph.size} governance changes`, false)
    // Usually the window; a change concurrent with the compacted root gets a window rebuilt further back.
    const target = ch.graph.target(env)
    if (target.graph === undefined) {
      return this.#refuse(key, 'limit', `resolving it would take a window of ${target.windowSize} governance changes (most ${this.#windowMax})`, false)
    }
    const info = target.graph.prepare(env, change)
    const publicKey = genesisKey ?? info.causal?.members.get(info.ref)?.ed
    if (publicKey === undefined) return this.#refuse(key, info.problem as RefusalReason, 'author is not a member in the change\'s causal past')
    try {
      verifySignature(this.#crypto, env, publicKey)
    } catch (e) {
      if (!isDdilError(e)) throw e
      return this.#refuse(key, 'signature', e.message)
    }
    if (info.problem !== undefined) return this.#refuse(key, info.problem as RefusalReason, `refused from its causal past: ${info.problem}`)
    ch.graph.commit(target, info)
    ch.authorKeys.set(info.ref, publicKey)
    ch.view = undefined
    return { status: 'accepted-one', duplicate: false, publicKey, key }
  }

  #keyOf (chKey: string, ref: string): Uint8Array {
    return this.#channels.get(chKey)?.authorKeys.get(ref) as Uint8Array
  }

  /** The resolved state of a channel, or undefined before its genesis is known. */
  state (channel: Uint8Array): GovernanceState | undefined {
    const ch = this.#channels.get(toHex(channel))
    if (ch === undefined) return undefined
    const current = ch.graph.resolution()
    if (current === undefined) return undefined
    ch.view ??= publicState(current, ch.graph.graph.infos, new Map(), ch.graph.foldedVerdicts())
    return ch.view
  }

  /** The channel references whose genesis this store holds, ascending. */
  channels (): Uint8Array[] {
    return [...this.#channels.keys()].sort().map(fromHex)
  }

  /** The accepted heads: what the next change made here should cite. */
  heads (channel: Uint8Array): Uint8Array[] {
    return [...(this.state(channel)?.heads ?? [])]
  }

  /** Removed members and their cuts: the engine purges their envelopes with seq > cutSeq. */
  removals (channel: Uint8Array): Removal[] {
    return this.removalsChanged(channel).changed.map(([, r]) => ({ author: r.ed.slice(0, authorRefBytes), ed: r.ed, cutSeq: r.cutSeq }))
  }

  /**
   * The removals that may have changed since `since` (a token this method returned), or all
   * of them: a standing channel has tens of thousands of removed members, and a relay enforces
   * each change of them as it comes.
   */
  removalsChanged (channel: Uint8Array, since?: RemovalsToken): { changed: Array<[ref: string, removed: Removed]>, token: RemovalsToken | undefined } {
    const removed = this.#channels.get(toHex(channel))?.graph.resolution()?.removed
    if (removed === undefined) return { changed: [], token: undefined }
    const keys = since === undefined ? undefined : removed.changedSince(since)
    if (keys === undefined) return { changed: [...removed.entries()], token: removed }
    const changed: Array<[string, Removed]> = []
    for (const k of keys) {
      const r = removed.get(k)
      if (r !== undefined) changed.push([k, r])
    }
    return { changed, token: removed }
  }

  /** Every governance envelope kept for a channel (accepted or discarded by resolution), parents before children. */
  changes (channel: Uint8Array): Envelope[] {
    return this.#channels.get(toHex(channel))?.graph.changes() ?? []
  }

  /** How a channel's governance is held: changes kept, in the resolution window, and compaction counts. */
  holding (channel: Uint8Array): { kept: number, window: number, compactions: number, rebuilds: number } | undefined {
    const g = this.#channels.get(toHex(channel))?.graph
    return g === undefined ? undefined : { kept: g.size, window: g.windowSize, compactions: g.compactions, rebuilds: g.rebuilds }
  }

  /** Whether a change is kept, pending, refused or unknown. */
  status (id: Uint8Array, channel: Uint8Array): 'kept' | 'pending' | 'refused' | 'unknown' {
    const key = toHex(id)
    if (this.#channels.get(toHex(channel))?.graph.knows(key) === true) return 'kept'
    if (this.#pending.has(key)) return 'pending'
    return this.#refused.get(key) !== undefined ? 'refused' : 'unknown'
  }

  get pendingCount (): number { return this.#pending.size }

  /** Drop pending changes that waited too long or expired (call from the host's timer). */
  prunePending (nowMs: number): Held[] {
    return this.#pending.prune(nowMs)
  }
}
