/**
 * The engine's links: the current one per peer, the peers that went away (since when),
 * and what we remember of each peer across its links (its score and push-tree state).
 * A link replaced or gone stays referenced by timers and store reads in flight: they ask
 * `isCurrent` before acting on it.
 *
 * @example
 * const links = new Links({ networkNowMs, peersChanged })
 * links.add(new PeerLink(peer, ref, info, queueBytesMax, links.memoryOf(peer)))
 * timers.schedule(ms, () => { if (links.isCurrent(link)) … })   // a link may be gone by then
 */
import type { PeerLink } from './peer.ts'
import { newPeerMemory, type PeerMemory } from './peer-memory.ts'
import { awayPeersRememberedMax, peersRememberedMax } from '../limits.ts'
import type { PeerId } from '../ports.ts'

export interface LinksDeps {
  /** Network time, ms: when a peer went away. */
  networkNowMs (): number
  /** The set of linked peers changed (network time follows the ready ones). */
  peersChanged (): void
}

export class Links {
  readonly #deps: LinksDeps
  readonly #peers = new Map<PeerId, PeerLink>()
  /** Peers that were linked and went away → when (network ms), oldest first (bounded: limits.ts). */
  readonly #away = new Map<PeerId, number>()
  /** Score and push-tree state per peer id, kept across reconnects (bounded: peersRememberedMax × lazyAuthorsPerPeerMax). */
  readonly #memory = new Map<PeerId, PeerMemory>()

  constructor (deps: LinksDeps) { this.#deps = deps }

  get size (): number { return this.#peers.size }
  get (peer: PeerId): PeerLink | undefined { return this.#peers.get(peer) }
  has (peer: PeerId): boolean { return this.#peers.has(peer) }
  keys (): IterableIterator<PeerId> { return this.#peers.keys() }
  values (): IterableIterator<PeerLink> { return this.#peers.values() }

  /** Whether `link` is still its peer's link (not gone, not replaced by a reconnect). */
  isCurrent (link: PeerLink): boolean { return this.#peers.get(link.id) === link }

  /** The links whose peer said hello, in link-up order. */
  * ready (): IterableIterator<PeerLink> {
    for (const p of this.#peers.values()) if (p.ready) yield p
  }

  /** A new link to its peer (replacing any earlier one): the peer is no longer away. */
  add (link: PeerLink): void {
    this.#peers.set(link.id, link)
    this.#away.delete(link.id)
  }

  /** The peer's link went down or was cut: it is away from now. False if it had none. */
  remove (peer: PeerId): boolean {
    if (!this.#peers.delete(peer)) return false
    this.#away.delete(peer)
    this.#away.set(peer, this.#deps.networkNowMs())
    if (this.#away.size > awayPeersRememberedMax) this.#away.delete(this.#away.keys().next().value as PeerId)
    this.#deps.peersChanged()
    return true
  }

  /** Drops a link that never became ready (no common link version): the peer is not counted away. */
  forget (peer: PeerId): void { this.#peers.delete(peer) }

  /** Peers that went away → since when (network ms), most recently gone last. */
  away (): Array<[PeerId, number]> { return [...this.#away] }

  /** The authors a peer asked us to announce rather than push, as remembered (nothing is created or reordered). */
  lazyAuthorsOf (peer: PeerId): ReadonlySet<string> { return this.#memory.get(peer)?.lazyAuthors ?? new Set() }

  /**
   * What we remember of a peer across its links (its prunes also across our restarts). Past
   * `peersRememberedMax` the peer longest unseen and not linked now is forgotten.
   */
  memoryOf (peer: PeerId): PeerMemory {
    let memory = this.#memory.get(peer)
    if (memory !== undefined) {
      this.#memory.delete(peer) // to the back: most recently seen
      this.#memory.set(peer, memory)
      return memory
    }
    memory = newPeerMemory()
    this.#memory.set(peer, memory)
    if (this.#memory.size > peersRememberedMax) {
      for (const id of this.#memory.keys()) if (!this.#peers.has(id)) { this.#memory.delete(id); break }
    }
    return memory
  }
}
