/**
 * The resolved governance state as the rest of the system reads it, and its canonical
 * encoding: two replicas agree on governance iff their `encodeState` bytes are equal.
 *
 *   state = [1, channelId, channelRef, policy,
 *            [[ed, x, role], …]          members, ascending ed
 *            [[ed, cutSeq, role], …]     removed members, ascending ed
 *            [id, …]                     accepted changes, ascending
 *            [[id, reason], …]           discarded changes, ascending id
 *            [id, …]]                    heads, ascending
 *
 * @example
 * const s = store.state(channelRef)
 * s.members.get(toHex(env.author))?.role   // 'owner' | 'admin' | 'member' | 'reader'
 * encodeState(s)                            // canonical CBOR bytes
 */
import { compareBytes, fromHex, toHex } from '../bytes.ts'
import { encodeCanonical, type CborValue } from '../cbor.ts'
import { channelRefBytes } from '../envelope.ts'
import { policyCbor, type Policy } from './governance.ts'
import type { DiscardReason, Info, Member, Removed, Resolution } from './causal.ts'
import type { CowMap } from './cow-map.ts'

export type { DiscardReason, Member, Removed } from './causal.ts'

export const stateEncodingVersion = 1

export interface GovernanceState {
  /** The genesis envelope id. */
  channelId: Uint8Array
  /** The channel reference in every envelope header: SHA-256(genesis body)[0..8]. */
  channel: Uint8Array
  policy: Policy
  /** Current members by author reference (hex of the Ed25519 key's first 8 bytes); unique by construction. */
  members: ReadonlyMap<string, Member>
  /** Removed members by author reference, with the seq cut. */
  removed: ReadonlyMap<string, Removed>
  /** Ids of accepted changes, ascending. */
  accepted: readonly Uint8Array[]
  /** Discarded changes: id hex → reason, in ascending id order. */
  discarded: ReadonlyMap<string, DiscardReason>
  /** Accepted changes nothing accepted depends on, ascending: the deps of the next change. */
  heads: readonly Uint8Array[]
}

/**
 * The public view of a resolution over `set`, plus discards decided outside it (missing deps)
 * and the verdicts of changes a compaction folded into the root (null: accepted). The id
 * lists are made when first read: a standing channel holds up to 131,072 of them, and most
 * readers want only members and policy. `set` and `folded` only grow (or are replaced), so the
 * view keeps to their lengths now.
 */
export function publicState (
  res: Resolution, set: readonly Info[],
  extra: ReadonlyMap<string, DiscardReason> = new Map(), folded: ReadonlyArray<readonly [string, DiscardReason | null]> = [],
): GovernanceState {
  const setLength = set.length
  const foldedLength = folded.length
  let lists: { accepted: Uint8Array[], discarded: Map<string, DiscardReason> } | undefined
  const makeLists = (): { accepted: Uint8Array[], discarded: Map<string, DiscardReason> } => {
    const accepted: Uint8Array[] = []
    const discarded: Array<[string, DiscardReason]> = [...extra]
    for (const [key, why] of folded.slice(0, foldedLength)) {
      if (why === null) accepted.push(fromHex(key))
      else discarded.push([key, why])
    }
    for (const y of set.slice(0, setLength)) {
      const why = res.discarded.get(y.gidx)
      if (why === undefined) accepted.push(y.env.id)
      else discarded.push([y.key, why])
    }
    accepted.sort(compareBytes)
    discarded.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    return { accepted, discarded: new Map(discarded) }
  }
  return {
    channelId: res.channelId,
    channel: res.root.info.env.channel.slice(0, channelRefBytes),
    policy: res.policy,
    members: new Map([...res.members].sort((a, b) => compareBytes(a[1].ed, b[1].ed))),
    removed: sortedOnIteration(res.removed),
    get accepted () { return (lists ??= makeLists()).accepted },
    get discarded () { return (lists ??= makeLists()).discarded },
    heads: res.heads.map(h => h.env.id),
  }
}

/**
 * A read-only view of removed members: looked up as they are (authorising a post reads one),
 * iterated in ascending key order, sorted when first iterated (tens of thousands in a
 * standing channel, and most views are never iterated).
 */
function sortedOnIteration (removed: CowMap<Removed>): ReadonlyMap<string, Removed> {
  let sorted: Map<string, Removed> | undefined
  const all = (): Map<string, Removed> => (sorted ??= new Map([...removed].sort((a, b) => compareBytes(a[1].ed, b[1].ed))))
  return {
    get size () { return removed.size },
    get: key => removed.get(key),
    has: key => removed.has(key),
    entries: () => all().entries(),
    keys: () => all().keys(),
    values: () => all().values(),
    forEach: (fn, thisArg) => { all().forEach(fn, thisArg) },
    [Symbol.iterator]: () => all()[Symbol.iterator](),
  }
}

/** Canonical bytes of a state, for comparing replicas and pinning vectors. */
export function encodeState (s: GovernanceState): Uint8Array {
  const value: CborValue = [
    stateEncodingVersion,
    s.channelId,
    s.channel,
    policyCbor(s.policy),
    [...s.members.values()].sort((a, b) => compareBytes(a.ed, b.ed)).map(m => [m.ed, m.x, m.role]),
    [...s.removed.values()].sort((a, b) => compareBytes(a.ed, b.ed)).map(r => [r.ed, r.cutSeq, r.role]),
    [...s.accepted].sort(compareBytes),
    [...s.discarded].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map(([id, why]) => [fromHex(id), why]),
    [...s.heads].sort(compareBytes),
  ]
  return encodeCanonical(value)
}

/** Member or removed member by author reference. */
export function lookupAuthor (s: GovernanceState, author: Uint8Array): { member?: Member, removed?: Removed } {
  const ref = toHex(author)
  return { member: s.members.get(ref), removed: s.removed.get(ref) }
}
