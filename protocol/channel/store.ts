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
import { Kind, verifySignature, type Envelope } from '../envelope.ts'
import { isDdilError } from '../errors.ts'
import { governanceChangesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { genesisProblem } from './builders.ts'
import { decodeChange, type Change } from './governance.ts'
import { ChangeGraph, extend, type DiscardReason, type Resolution } from './causal.ts'
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

export interface Removal {
  /** The removed member's 8-byte author reference (what envelope headers carry). */
  author: Uint8Array
  ed: Uint8Array
  cutSeq: number
}

interface Channel {
  graph: ChangeGraph
  authorKeys: Map<string, Uint8Array>
  /** The resolution of the whole set; undefined when stale (recomputed on demand). */
  current: Resolution | undefined
  view: GovernanceState | undefined
}

type One = AddResult | { status: 'accepted-one', duplicate: boolean, publicKey: Uint8Array, key: string }

export interface GovernanceStoreOptions { pending?: Partial<PendingLimits>, changesMax?: number, refusedMax?: number }

export class GovernanceStore {
  readonly #crypto: Crypto
  readonly #channels = new Map<string, Channel>()
  readonly #pending: PendingPool
  readonly #refused: RefusedIds
  readonly #changesMax: number

  constructor (crypto: Crypto, options: GovernanceStoreOptions = {}) {
    this.#crypto = crypto
    this.#pending = new PendingPool(options.pending)
    this.#refused = new RefusedIds(options.refusedMax)
    this.#changesMax = options.changesMax ?? governanceChangesMax
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
    const known = this.#channels.get(chKey)?.graph.byKey.get(key)
    if (known !== undefined) return { status: 'accepted-one', duplicate: true, publicKey: this.#keyOf(chKey, known.ref), key }
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
    const missing = env.deps.map(toHex).filter(d => ch?.graph.byKey.has(d) !== true)
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
      ch = { graph: new ChangeGraph(resolveSet), authorKeys: new Map(), current: undefined, view: undefined }
      this.#channels.set(chKey, ch)
    }
    return this.#insert(ch, env, change, key, chKey, change.ownerEd)
  }

  #insert (ch: Channel, env: Envelope, change: Change, key: string, chKey: string, genesisKey?: Uint8Array): One {
    if (ch.graph.size >= this.#changesMax) return this.#refuse(key, 'limit', `channel holds ${ch.graph.size} governance changes`, false)
    const info = ch.graph.prepare(env, change)
    const publicKey = genesisKey ?? info.causal?.members.get(info.ref)?.ed
    if (publicKey === undefined) return this.#refuse(key, info.problem as RefusalReason, 'author is not a member in the change\'s causal past')
    try {
      verifySignature(this.#crypto, env, publicKey)
    } catch (e) {
      if (!isDdilError(e)) throw e
      return this.#refuse(key, 'signature', e.message)
    }
    if (info.problem !== undefined) return this.#refuse(key, info.problem as RefusalReason, `refused from its causal past: ${info.problem}`)
    const whole = ch.current !== undefined && info.ancCount === ch.graph.size
    ch.graph.commit(info)
    ch.authorKeys.set(info.ref, publicKey)
    // A change that cites everything known extends the state in O(members); anything else
    // (a merge, or arrival out of causal order) marks it stale: resolved once, when next read.
    ch.current = whole ? extend(ch.current as Resolution, info) : undefined
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
    ch.current ??= resolveSet(ch.graph.infos)
    if (ch.current === undefined) return undefined
    ch.view ??= publicState(ch.current, ch.graph.infos)
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
    const s = this.state(channel)
    if (s === undefined) return []
    return [...s.removed.values()].map(r => ({ author: r.ed.slice(0, 8), ed: r.ed, cutSeq: r.cutSeq }))
  }

  /** Every governance envelope kept for a channel (accepted or discarded by resolution), in insertion order. */
  changes (channel: Uint8Array): Envelope[] {
    return this.#channels.get(toHex(channel))?.graph.infos.map(i => i.env) ?? []
  }

  /** Whether a change is kept, pending, refused or unknown. */
  status (id: Uint8Array, channel: Uint8Array): 'kept' | 'pending' | 'refused' | 'unknown' {
    const key = toHex(id)
    if (this.#channels.get(toHex(channel))?.graph.byKey.has(key) === true) return 'kept'
    if (this.#pending.has(key)) return 'pending'
    return this.#refused.get(key) !== undefined ? 'refused' : 'unknown'
  }

  get pendingCount (): number { return this.#pending.size }

  /** Drop pending changes that waited too long or expired (call from the host's timer). */
  prunePending (nowMs: number): Held[] {
    return this.#pending.prune(nowMs)
  }
}
