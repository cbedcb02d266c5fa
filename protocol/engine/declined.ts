/**
 * Envelopes a peer said it does not carry (`refused`, ERR_UNAUTHORISED: a channel its operator
 * does not let it carry). Without this memory, each reconciliation round found them as a
 * difference again and sent them again, to be dropped again: every 30 s, for as long as they
 * lived, on whatever link that was (#24). A declined envelope leaves that peer's reconciliation
 * scope (scoped-set.ts) for `declinedForgetMs`, then is offered once more (the peer's operator
 * may have let it carry the channel since); a new link to the peer forgets them all at once.
 *
 * @example
 * const declined = new Declined({ scope: set, holds })
 * declined.heard(peer, ids, nowMs)   // a refused frame, ERR_UNAUTHORISED
 * declined.sweep(nowMs)              // on each reconciliation tick
 * declined.forgetPeer(peer)          // on a new link to it
 */
import { idKey } from './catalog.ts'
import type { ScopedSet } from './scoped-set.ts'
import { declinedForgetMs, declinedRememberedMax } from '../limits.ts'
import type { PeerId } from '../ports.ts'

export interface DeclinedDeps {
  scope: Pick<ScopedSet, 'exclude' | 'include'>
  /** Whether this relay holds the envelope with this id key (only those leave a scope). */
  holds (key: string): boolean
}

export class Declined {
  readonly #d: DeclinedDeps
  /** `peer\0idKey` → when the peer declined it (insertion order is time order). */
  readonly #at = new Map<string, number>()

  constructor (deps: DeclinedDeps) { this.#d = deps }

  get size (): number { return this.#at.size }

  /** The peer does not carry these envelopes: stop offering them to it for a while. */
  heard (peer: PeerId, ids: Uint8Array[], nowMs: number): void {
    for (const id of ids) {
      const key = idKey(id)
      if (!this.#d.holds(key)) continue
      const pair = `${peer}\0${key}`
      const again = this.#at.delete(pair) // re-inserted: kept in time order
      this.#at.set(pair, nowMs)
      if (!again) this.#d.scope.exclude(peer, key)
      if (this.#at.size > declinedRememberedMax) this.#forget(this.#at.keys().next().value as string)
    }
  }

  /** Offers again what was declined `declinedForgetMs` ago or more. */
  sweep (nowMs: number): void {
    for (const [pair, atMs] of this.#at) {
      if (nowMs - atMs < declinedForgetMs) return
      this.#forget(pair)
    }
  }

  /** A new link to the peer: it may carry more now, so everything it declined is offered again. */
  forgetPeer (peer: PeerId): void {
    const prefix = `${peer}\0`
    for (const pair of this.#at.keys()) if (pair.startsWith(prefix)) this.#forget(pair)
  }

  #forget (pair: string): void {
    this.#at.delete(pair)
    const cut = pair.indexOf('\0') // a peer id has none; an id key may
    this.#d.scope.include(pair.slice(0, cut), pair.slice(cut + 1))
  }
}
