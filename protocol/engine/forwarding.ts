/**
 * Forwarding decisions, as pure functions of what the links know (push.ts acts on them).
 *
 * Rule (dominant pruning with a shortcut): a node that received an envelope from S pushes
 * it to neighbour Q unless S advertised Q as its own neighbour (S reaches Q itself), or
 * the path through us is clearly faster than S's direct link. The first neighbour of Q to
 * receive an envelope always got it from a node that is not Q's neighbour, so with
 * current neighbour lists every reachable node is pushed to; stale lists are repaired by
 * reconciliation.
 *
 * Siblings (#24): neighbours of ours that the source pushed the same envelope to are
 * pushing it on at the same moment, and where two of them reach Q their copies cross on
 * the way to Q. Of the siblings that reach Q, only the one whose path through it is
 * cheapest (the smaller id on a tie) pushes; the others announce (`have`), and Q asks
 * (`want`) if that copy does not come (that sibling may announce too: Q pruned it). The
 * one Q asked then pushes it that author's envelopes (push.ts).
 *
 * Young links (#24): on a link up for less than `youngLinkMs`, a relayed envelope is
 * announced where another neighbour of ours reaches the peer too (`announcesRelayed`).
 *
 * @example
 * if (shouldPush(source, q, ourRefKey)) … // then, unless a sibling goes first (siblingGoesFirst), per author:
 * pushMode(q.isLazy(author), repair, ourId, q.id)   // 'announce' | 'push' | 'push-after-round-trip'
 * announcesRelayed(nowMs - q.readyAtMs, youngLinkMs, () => reachedOtherwise)   // a young link in a mesh: announce
 */
import type { PeerId } from '../ports.ts'

/**
 * A path through us must beat the sender's direct link by this factor before we push a copy
 * too. A margin, because costs are estimates for a typical envelope; but not a wide one: at
 * 0.5, a valley of two 512 kbps hops (0.6 of a 128 kbps radio shortcut) was never used.
 * A redundant push costs one duplicate per author, then the per-author prune.
 */
export const shortcutFactor = 0.8

/** Added to a round trip that a delayed push waits for the peer's `have` (its frame's own queueing), ms. */
const roundTripSlackMs = 10

/**
 * How long a push that could cross another copy waits: one round trip of the link (its cost
 * both ways) and a little, so that the peer's `have` for what it got elsewhere arrives first.
 */
export function roundTripWaitMs (linkCostMs: number): number { return 2 * linkCostMs + roundTripSlackMs }

/** What a node knows of the link an envelope came in on: its cost, and the neighbours its peer advertised. */
export interface SourceView { costMs: number, neighbours: ReadonlyMap<string, number> }
/** What a node knows of a link it may push on: the peer's ref key, and the link's cost. */
export interface TargetView { refKey: string, costMs: number }

/** Whether an envelope that came from `source` is pushed on to `target` (`ourRefKey`: how our neighbours name us). */
export function shouldPush (source: SourceView, target: TargetView, ourRefKey: string): boolean {
  const direct = source.neighbours.get(target.refKey)
  if (direct === undefined) return true
  const toUs = source.neighbours.get(ourRefKey) ?? source.costMs
  return toUs + target.costMs < direct * shortcutFactor
}

/** What a node knows of another neighbour that may push to the same target: its id, ref key and advertised neighbours. */
export interface SiblingView { id: PeerId, refKey: string, neighbours: ReadonlyMap<string, number> }

/**
 * Whether `sibling`, a neighbour of ours that the source pushes to itself, also reaches
 * `target` and goes first: its path source → sibling → target is cheaper than ours, or as
 * cheap and its id is smaller. Every sibling reads the same advertised costs, so with
 * current neighbour lists exactly one of those reaching the target pushes to it.
 */
export function siblingGoesFirst (source: SourceView, sibling: SiblingView, target: TargetView, ourRefKey: string, ourId: PeerId): boolean {
  const toSibling = source.neighbours.get(sibling.refKey)
  const siblingToTarget = sibling.neighbours.get(target.refKey)
  if (toSibling === undefined || siblingToTarget === undefined) return false
  const theirs = toSibling + siblingToTarget
  const ours = (source.neighbours.get(ourRefKey) ?? Math.round(source.costMs)) + Math.round(target.costMs)
  return theirs < ours || (theirs === ours && sibling.id < ourId)
}

/**
 * Whether a relayed envelope goes to a peer as an announcement (`have`) rather than a copy,
 * though the peer did not ask for that (#24): the link to it came up `linkAgeMs` ago, less
 * than `youngLinkMs`, and another of our neighbours reaches the peer as well
 * (`anotherNeighbourReaches`), so the same wave likely brings it a copy that way. A young link
 * has no push tree yet (per-author prunes need an author's envelopes to follow one path
 * for a while), and on contacts of seconds to minutes it never gets one; the peer asks
 * (`want`) after `youngLinkGraftDelayMs`, so the cost is a round trip where no other copy
 * came. A bridge (no other neighbour reaches the peer) and a settled link push as ever.
 */
export function announcesRelayed (linkAgeMs: number, youngLinkMs: number, anotherNeighbourReaches: () => boolean): boolean {
  return linkAgeMs < youngLinkMs && anotherNeighbourReaches() // asked only of a young link: it walks the neighbours
}

/**
 * How an envelope goes to a peer it is forwarded to: announced (`have`) where the peer
 * asked for its author's envelopes lazily; else pushed. A reconciliation's repair between
 * two neighbours healing at once would cross: the side with the larger id waits one round
 * trip, so the other's copy arrives first and ours is not sent.
 */
export function pushMode (lazy: boolean, repair: boolean, ourId: PeerId, peerId: PeerId): 'announce' | 'push' | 'push-after-round-trip' {
  if (lazy) return 'announce'
  return repair && ourId > peerId ? 'push-after-round-trip' : 'push'
}
