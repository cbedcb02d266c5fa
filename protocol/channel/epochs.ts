/**
 * A client's keyring for one channel: the epoch keys it has learnt, and the rules for
 * which key to send under, when a new epoch is due and when an old key is dropped.
 * Pure and deterministic: times are passed in, and every answer depends only on the
 * SET of keys chunks added (never on arrival order), so replicas holding the same
 * chunks pick the same sending epoch.
 *
 * An epoch *instance* is one sealing: all chunks with the same (epoch, ephemeral key).
 * Two admins cut off from each other can create instances with the same number; all are
 * kept and readable. An instance is *complete* once every chunk 0..count-1 is held:
 * only then is its recipient set known, so only then may it be sent under.
 *
 * Sending rule: the highest-numbered complete instance whose key we hold (exactly one)
 * and whose recipients exclude every removed member; ties by lowest keys-envelope id.
 *
 * @example
 * ring.add({ keysId: env.id, body: decodeKeysBody(env.body), key: opened?.epochKey, knownAtMs: now })
 * const send = ring.currentForSending(state.removed.keys())   // { epoch, key, … } | undefined
 * if (isAdmin && ring.needsNewEpoch(removed, now, { intervalMs: 86_400_000 })) rotate(ring.nextEpoch())
 * ring.prune(now, epochGraceMsDefault, removed)
 */
import { bytesEqual, compareBytes, toHex } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { keyringInstancesMax, keysChunksMax } from '../limits.ts'
import { checkKeyLength, edPrefixBytes, epochKeyBytes } from './derive.ts'
import type { KeysBody } from './keys.ts'

/** Members named by Ed25519 key (32 B), prefix (8 B), or either as hex: compared by 8-byte prefix. */
/** Times are Unix ms in 48 bits, like envelope timestamps. */
export const knownAtMsMax = 2 ** 48 - 1

export type MemberRefs = Iterable<string | Uint8Array>

export interface ChunkState { index: number, count: number, keysId: Uint8Array, knownAtMs: number, recipients: Uint8Array[] }
export interface InstanceState { epoch: number, ephemeralPublic: Uint8Array, keys: Uint8Array[], chunks: ChunkState[] }
/** Everything the keyring holds; `epochs-codec.ts` persists it. */
export interface KeyringState { floor: number, instances: InstanceState[], counts: Array<[number, number]> }

export interface AddKeys {
  /** The keys envelope's id. */
  keysId: Uint8Array
  body: KeysBody
  /** The epoch key, when `openEpoch` opened this chunk for us. */
  key?: Uint8Array
  knownAtMs: number
}

export interface SendingEpoch { epoch: number, key: Uint8Array, keysId: Uint8Array, ephemeralPublic: Uint8Array, knownAtMs: number }

export interface RotationPolicy { intervalMs?: number, messages?: number }

export interface EpochInfo {
  epoch: number
  ephemeralPublic: Uint8Array
  keysId: Uint8Array
  complete: boolean
  hasKey: boolean
  recipients: string[]
  knownAtMs: number
}

export function prefixSet (members: MemberRefs): Set<string> {
  const out = new Set<string>()
  for (const m of members) out.add(typeof m === 'string' ? m.slice(0, edPrefixBytes * 2).toLowerCase() : toHex(m.subarray(0, edPrefixBytes)))
  return out
}

const byChunk = (a: ChunkState, b: ChunkState): number => a.index - b.index || compareBytes(a.keysId, b.keysId)
const byInstance = (a: InstanceState, b: InstanceState): number => a.epoch - b.epoch || compareBytes(a.ephemeralPublic, b.ephemeralPublic)

/** Facts about one instance derived from its chunks (a function of the set of chunks). */
function view (i: InstanceState): EpochInfo & { recipientSet: Set<string>, usable: boolean } {
  const counts = new Set(i.chunks.map(c => c.count))
  const indices = new Set(i.chunks.map(c => c.index))
  const count = i.chunks[0].count
  const complete = counts.size === 1 && indices.size === count
  const recipientSet = new Set(i.chunks.flatMap(c => c.recipients.map(r => toHex(r))))
  const keysId = i.chunks.reduce((lo, c) => compareBytes(c.keysId, lo) < 0 ? c.keysId : lo, i.chunks[0].keysId)
  const knownAtMs = Math.min(...i.chunks.map(c => c.knownAtMs))
  return {
    epoch: i.epoch, ephemeralPublic: i.ephemeralPublic, keysId, complete, hasKey: i.keys.length > 0,
    recipients: [...recipientSet].sort(), recipientSet, knownAtMs,
    // Two different keys in one instance mean a misbehaving sealer: readable, never sent under.
    usable: complete && i.keys.length === 1,
  }
}

function excludes (recipients: Set<string>, removed: Set<string>): boolean {
  for (const r of removed) if (recipients.has(r)) return false
  return true
}

export class EpochKeyring {
  readonly #instances = new Map<string, InstanceState>()
  readonly #counts = new Map<number, number>()
  /** Highest epoch pruned: keys at or below it are not taken back (they were superseded long ago). */
  #floor = 0

  constructor (state?: KeyringState) {
    if (state === undefined) return
    this.#floor = state.floor
    for (const i of state.instances) {
      for (const c of i.chunks) this.#addChunk(i.epoch, i.ephemeralPublic, c)
      for (const k of i.keys) this.#addKey(this.#instances.get(instanceKey(i.epoch, i.ephemeralPublic)) as InstanceState, k)
    }
    for (const [epoch, n] of state.counts) if (this.#hasEpoch(epoch)) this.#counts.set(epoch, n)
  }

  /** Record one keys chunk (and its key if we opened it). False when it adds nothing new. */
  add (entry: AddKeys): boolean {
    const { body } = entry
    if (body.epoch <= this.#floor) return false
    if (entry.key !== undefined) checkKeyLength(entry.key, epochKeyBytes, 'epoch key')
    if (!Number.isSafeInteger(entry.knownAtMs) || entry.knownAtMs < 0 || entry.knownAtMs > knownAtMsMax) throw new DecodeError(`knownAtMs out of range: ${entry.knownAtMs}`)
    const chunk: ChunkState = {
      index: body.chunkIndex, count: body.chunkCount, keysId: entry.keysId.slice(), knownAtMs: entry.knownAtMs,
      recipients: body.entries.map(e => e.recipient.slice()),
    }
    const added = this.#addChunk(body.epoch, body.ephemeralPublic, chunk)
    const inst = this.#instances.get(instanceKey(body.epoch, body.ephemeralPublic)) as InstanceState
    return (entry.key !== undefined && this.#addKey(inst, entry.key)) || added
  }

  #addChunk (epoch: number, eph: Uint8Array, chunk: ChunkState): boolean {
    const k = instanceKey(epoch, eph)
    let inst = this.#instances.get(k)
    if (inst === undefined) {
      if (this.#instances.size >= keyringInstancesMax) throw new LimitError(`keyring holds ${keyringInstancesMax} epoch instances already`)
      inst = { epoch, ephemeralPublic: eph.slice(), keys: [], chunks: [] }
      this.#instances.set(k, inst)
    }
    const same = inst.chunks.find(c => c.index === chunk.index && bytesEqual(c.keysId, chunk.keysId))
    if (same !== undefined) {
      // The same envelope again: keep the earliest time it became known (order-independent).
      same.knownAtMs = Math.min(same.knownAtMs, chunk.knownAtMs)
      return false
    }
    if (inst.chunks.length >= keysChunksMax) throw new LimitError(`epoch ${epoch} instance has ${keysChunksMax} chunks already`)
    inst.chunks.push(chunk)
    inst.chunks.sort(byChunk)
    return true
  }

  #addKey (inst: InstanceState, key: Uint8Array): boolean {
    if (inst.keys.some(k => bytesEqual(k, key))) return false
    if (inst.keys.length >= keysChunksMax) throw new LimitError(`epoch ${inst.epoch} instance has ${keysChunksMax} keys already`)
    inst.keys.push(key.slice())
    inst.keys.sort(compareBytes)
    return true
  }

  #hasEpoch (epoch: number): boolean {
    for (const i of this.#instances.values()) if (i.epoch === epoch) return true
    return false
  }

  /** Every key held for this epoch number (one per concurrent instance, usually one). */
  keysFor (epoch: number): Uint8Array[] {
    const out: Uint8Array[] = []
    for (const i of this.#sorted()) if (i.epoch === epoch) out.push(...i.keys.map(k => k.slice()))
    return out
  }

  /**
   * Whether this user can read what was sealed under `epoch`: `held` (a key is here),
   * `sealed-to-others` (a complete instance is here and none was sealed to us: sent before
   * we were added, or after we were removed), or `unknown` (its keys have not arrived).
   */
  keyState (epoch: number): 'held' | 'sealed-to-others' | 'unknown' {
    let complete = false
    for (const i of this.#instances.values()) {
      if (i.epoch !== epoch) continue
      if (i.keys.length > 0) return 'held'
      complete ||= view(i).complete
    }
    return complete ? 'sealed-to-others' : 'unknown'
  }

  /** The epoch keys held, one per (epoch, key) (to share them with a member added later). */
  heldKeys (): Array<{ epoch: number, key: Uint8Array }> {
    const out: Array<{ epoch: number, key: Uint8Array }> = []
    for (const i of this.#sorted()) {
      for (const key of i.keys) if (!out.some(o => o.epoch === i.epoch && bytesEqual(o.key, key))) out.push({ epoch: i.epoch, key: key.slice() })
    }
    return out
  }

  /** The epoch a new message is sealed under, per the sending rule (see the header). */
  currentForSending (removed: MemberRefs): SendingEpoch | undefined {
    const gone = prefixSet(removed)
    let best: ReturnType<typeof view> | undefined
    let bestKey: Uint8Array | undefined
    for (const i of this.#instances.values()) {
      const v = view(i)
      if (!v.usable || !excludes(v.recipientSet, gone)) continue
      if (best === undefined || v.epoch > best.epoch || (v.epoch === best.epoch && compareBytes(v.keysId, best.keysId) < 0)) {
        best = v
        bestKey = i.keys[0]
      }
    }
    if (best === undefined || bestKey === undefined) return undefined
    return { epoch: best.epoch, key: bestKey.slice(), keysId: best.keysId.slice(), ephemeralPublic: best.ephemeralPublic.slice(), knownAtMs: best.knownAtMs }
  }

  /**
   * Why an owner/admin client should create a new epoch now, or undefined. `members`
   * (optional) are the current members: an epoch that misses one (added concurrently)
   * needs replacing so that they can read.
   */
  rotationReason (removed: MemberRefs, nowMs: number, rotation: RotationPolicy = {}, members?: MemberRefs): string | undefined {
    const gone = prefixSet(removed)
    const pick = this.currentForSending(gone)
    if (pick === undefined) return 'no epoch key that excludes every removed member'
    for (const i of this.#instances.values()) {
      const v = view(i)
      if (v.complete && v.epoch > pick.epoch) return `epoch ${v.epoch} exists but cannot be sent under`
      // Partial knowledge is enough here: a removed member listed in any chunk holds that key.
      if (v.epoch >= pick.epoch && !excludes(v.recipientSet, gone)) return `a removed member holds a key of epoch ${v.epoch}`
    }
    if (members !== undefined) {
      const recipients = view(this.#instances.get(instanceKey(pick.epoch, pick.ephemeralPublic)) as InstanceState).recipientSet
      for (const m of prefixSet(members)) if (!recipients.has(m)) return `member ${m} cannot read epoch ${pick.epoch}`
    }
    if (rotation.intervalMs !== undefined && nowMs - pick.knownAtMs >= rotation.intervalMs) return `epoch ${pick.epoch} is older than the rotation interval`
    if (rotation.messages !== undefined && (this.#counts.get(pick.epoch) ?? 0) >= rotation.messages) return `epoch ${pick.epoch} has carried ${rotation.messages} messages`
    return undefined
  }

  needsNewEpoch (removed: MemberRefs, nowMs: number, rotation: RotationPolicy = {}, members?: MemberRefs): boolean {
    return this.rotationReason(removed, nowMs, rotation, members) !== undefined
  }

  /** The number a new epoch takes: one above every epoch known or pruned. */
  nextEpoch (): number {
    let high = this.#floor
    for (const i of this.#instances.values()) high = Math.max(high, i.epoch)
    return high + 1
  }

  /** Count messages seen under an epoch (for rotation after N messages). Unknown epochs are not counted. */
  countMessage (epoch: number, n = 1): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new DecodeError(`message count must be a non-negative integer, got ${n}`)
    if (this.#hasEpoch(epoch)) this.#counts.set(epoch, (this.#counts.get(epoch) ?? 0) + n)
  }

  /**
   * Drop every instance superseded for at least `graceMs`: some higher epoch that we can
   * send under (complete, key held, excluding `removed`) has been known that long.
   * `removed` is required on purpose: without it an epoch a removed member still holds
   * could count as a successor and retire the key everyone is still sending under.
   * Returns the epoch numbers dropped, ascending (for the audit log).
   */
  prune (nowMs: number, graceMs: number, removed: MemberRefs): number[] {
    const gone = prefixSet(removed)
    const successors = [...this.#instances.values()].map(view).filter(v => v.usable && excludes(v.recipientSet, gone))
    const dropped = new Set<number>()
    for (const [k, i] of this.#instances) {
      const after = successors.filter(s => s.epoch > i.epoch).map(s => s.knownAtMs)
      if (after.length > 0 && nowMs - Math.min(...after) >= graceMs) {
        this.#instances.delete(k)
        dropped.add(i.epoch)
      }
    }
    for (const e of dropped) { this.#floor = Math.max(this.#floor, e); this.#counts.delete(e) }
    return [...dropped].sort((a, b) => a - b)
  }

  /** What the keyring holds, in canonical order (for inspection and tests). */
  epochs (): EpochInfo[] {
    return this.#sorted().map(i => {
      const { recipientSet: _r, usable: _u, ...info } = view(i)
      return info
    })
  }

  /** A deep copy of the state, canonically ordered, for `encodeKeyring`. */
  toState (): KeyringState {
    return {
      floor: this.#floor,
      instances: this.#sorted().map(i => ({
        epoch: i.epoch,
        ephemeralPublic: i.ephemeralPublic.slice(),
        keys: i.keys.map(k => k.slice()),
        chunks: i.chunks.map(c => ({ ...c, keysId: c.keysId.slice(), recipients: c.recipients.map(r => r.slice()).sort(compareBytes) })),
      })),
      counts: [...this.#counts].sort((a, b) => a[0] - b[0]),
    }
  }

  #sorted (): InstanceState[] {
    return [...this.#instances.values()].sort(byInstance)
  }
}

function instanceKey (epoch: number, eph: Uint8Array): string {
  return `${epoch}:${toHex(eph)}`
}
