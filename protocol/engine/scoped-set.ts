/**
 * What this relay holds, as reconciliation sees it, with a narrower view per peer where that
 * peer must not be offered some of it (#29): a gateway's policy keeps an envelope from a
 * partner's relay, or that relay refused it. Reconciling over the whole set there would find
 * those envelopes as a difference at every round and offer them again; over the peer's view,
 * once an envelope is judged, it is no longer a difference on that link. The partner's own
 * view leaves out what it keeps from us, and what we refused it is not in its set at all, so
 * both sides' sets agree once every envelope that cannot cross has been judged once.
 *
 * A view is a whole `ReconcileSet` (symbols, sketch, journal, ranges all work unchanged), made
 * at a peer's first exclusion by copying the set: O(N) once, then one more add or delete per
 * change of the set. Only peers something was kept from have one; what a view leaves out is
 * bounded by the memories that keep it out (the boundary's verdicts, what the peer declined,
 * declined.ts), and returns to the view when those forget it.
 *
 * @example
 * const set = new ScopedSet()
 * set.exclude(peer, key)          // the boundary kept this envelope from peer
 * initiate(set.forPeer(peer), …)  // reconciliation on that link
 */
import { binaryString } from '../bytes.ts'
import type { PeerId } from '../ports.ts'
import { ReconcileSet } from '../reconcile/index.ts'

/** A peer's view: the set less `out` (id key → how many parts keep it out: the boundary, a peer's decline). */
interface View { set: ReconcileSet, out: Map<string, number> }

export class ScopedSet extends ReconcileSet {
  readonly #views = new Map<PeerId, View>()

  /** The set reconciliation uses with this peer: the whole set unless something is kept from it. */
  forPeer (peer: PeerId): ReconcileSet { return this.#views.get(peer)?.set ?? this }

  /** Peers with a narrower view (for tests and counters). */
  get scopedPeers (): number { return this.#views.size }

  override add (id: Uint8Array | string): boolean {
    const added = super.add(id)
    if (added) for (const v of this.#views.values()) if (!v.out.has(keyOf(id))) v.set.add(id)
    return added
  }

  override delete (id: Uint8Array | string): boolean {
    const deleted = super.delete(id)
    if (deleted) for (const v of this.#views.values()) v.set.delete(id)
    return deleted
  }

  /** Leaves this id (an envelope key) out of what reconciliation offers to `peer`, until each exclusion is undone by an `include`. */
  exclude (peer: PeerId, key: string): void {
    let v = this.#views.get(peer)
    if (v === undefined) {
      v = { set: new ReconcileSet(), out: new Map() }
      for (const id of this.ids()) v.set.add(id)
      this.#views.set(peer, v)
    }
    v.out.set(key, (v.out.get(key) ?? 0) + 1)
    v.set.delete(key)
  }

  /** Undoes one `exclude`; once none keeps it out, the id is offered to `peer` again if held. A view left out nothing more is dropped. */
  include (peer: PeerId, key: string): void {
    const v = this.#views.get(peer)
    const n = v?.out.get(key)
    if (v === undefined || n === undefined) return
    if (n > 1) { v.out.set(key, n - 1); return }
    v.out.delete(key)
    if (v.out.size === 0) { this.#views.delete(peer); return }
    if (this.has(key)) v.set.add(key)
  }
}

function keyOf (id: Uint8Array | string): string { return typeof id === 'string' ? id : binaryString(id) }

/** One string naming a peer and a key (an id or channel key), for the memories that exclude from a view: `peer\0key`. */
export function peerKey (peer: PeerId, key: string): string { return `${peer}\0${key}` }

/** The peer and the key of a `peerKey`: a peer id has no NUL, a key may, so the first one splits them. */
export function splitPeerKey (pair: string): [PeerId, string] {
  const cut = pair.indexOf('\0')
  return [pair.slice(0, cut), pair.slice(cut + 1)]
}
