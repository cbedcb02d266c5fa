/**
 * Envelopes a peer said it does not carry (`refused`: ERR_UNAUTHORISED, its own policy refuses
 * this envelope, e.g. a cut-off organisation's user's; ERR_NOT_CARRIED, its operator does not
 * let it carry the channel at all). Without this memory, each reconciliation round found them
 * as a difference again and sent them again, to be dropped again: every 30 s, for as long as
 * they lived, on whatever link that was (#24). A declined envelope leaves that peer's
 * reconciliation scope (scoped-set.ts); after ERR_NOT_CARRIED so does each later envelope of
 * its channel, which is not pushed or announced to that peer either: one decline per channel. After
 * `declinedForgetMs` both are offered once more (the peer's operator may have let it carry the
 * channel since); a new link to the peer forgets them all at once.
 *
 * @example
 * const declined = new Declined({ scope: set, holds, channelOf })
 * declined.heard(peer, ids, nowMs, true)  // a refused frame, ERR_NOT_CARRIED (false: ERR_UNAUTHORISED)
 * declined.stored(env.key, channel, nowMs) // a new envelope: out of the scope of peers that declined its channel
 * declined.declines(peer, channel, nowMs)  // before pushing or announcing to a peer
 * declined.sweep(nowMs)                   // on each reconciliation tick
 * declined.forgetPeer(peer)               // on a new link to it
 */
import { idKey } from './catalog.ts'
import { peerKey, splitPeerKey, type ScopedSet } from './scoped-set.ts'
import { declinedChannelsRememberedMax, declinedForgetMs, declinedRememberedMax } from '../limits.ts'
import type { PeerId } from '../ports.ts'

export interface DeclinedDeps {
  scope: Pick<ScopedSet, 'exclude' | 'include'>
  /** Whether this relay holds the envelope with this id key (only those leave a scope). */
  holds (key: string): boolean
  /** The channel (its reference as an id key) of a held envelope, by id key. */
  channelOf (key: string): string | undefined
}

export class Declined {
  readonly #d: DeclinedDeps
  /** `peer\0idKey` → when the peer declined it (insertion order is time order). */
  readonly #at = new Map<string, number>()
  /** `peer\0channelKey` → when the peer declined an envelope of that channel (time order). */
  readonly #channels = new Map<string, number>()
  /** Channel key → the peers that declined it (the same entries as `#channels`, by channel). */
  readonly #byChannel = new Map<string, Set<PeerId>>()

  constructor (deps: DeclinedDeps) { this.#d = deps }

  /** The peer does not carry these envelopes (`wholeChannel`: nor anything of their channels): stop offering them to it for a while. */
  heard (peer: PeerId, ids: Uint8Array[], nowMs: number, wholeChannel: boolean): void {
    for (const id of ids) {
      const key = idKey(id)
      if (!this.#d.holds(key)) continue
      this.#exclude(peer, key, nowMs)
      const channel = wholeChannel ? this.#d.channelOf(key) : undefined
      if (channel !== undefined) this.#declineChannel(peer, channel, nowMs)
    }
  }

  /** A new envelope of `channel`: left out of the reconciliation of every peer that declined the channel. */
  stored (key: string, channel: string, nowMs: number): void {
    for (const peer of this.#byChannel.get(channel) ?? []) this.#exclude(peer, key, nowMs)
  }

  /** Whether the peer declined this channel (an id key) within `declinedForgetMs`: nothing of it is pushed or announced to it. */
  declines (peer: PeerId, channel: string, nowMs: number): boolean {
    const atMs = this.#channels.get(peerKey(peer, channel))
    return atMs !== undefined && nowMs - atMs < declinedForgetMs
  }

  #exclude (peer: PeerId, key: string, nowMs: number): void {
    const pair = peerKey(peer, key)
    const again = this.#at.delete(pair) // re-inserted: kept in time order
    this.#at.set(pair, nowMs)
    if (!again) this.#d.scope.exclude(peer, key)
    if (this.#at.size > declinedRememberedMax) this.#forget(this.#at.keys().next().value as string)
  }

  #declineChannel (peer: PeerId, channel: string, nowMs: number): void {
    const pair = peerKey(peer, channel)
    this.#channels.delete(pair)
    this.#channels.set(pair, nowMs)
    let peers = this.#byChannel.get(channel)
    if (peers === undefined) { peers = new Set(); this.#byChannel.set(channel, peers) }
    peers.add(peer)
    if (this.#channels.size > declinedChannelsRememberedMax) this.#forgetChannel(this.#channels.keys().next().value as string)
  }

  /** Offers again what was declined `declinedForgetMs` ago or more. */
  sweep (nowMs: number): void {
    for (const [pair, atMs] of this.#channels) {
      if (nowMs - atMs < declinedForgetMs) break
      this.#forgetChannel(pair)
    }
    for (const [pair, atMs] of this.#at) {
      if (nowMs - atMs < declinedForgetMs) return
      this.#forget(pair)
    }
  }

  /** A new link to the peer: it may carry more now, so everything it declined is offered again. */
  forgetPeer (peer: PeerId): void {
    const prefix = peerKey(peer, '')
    for (const pair of this.#channels.keys()) if (pair.startsWith(prefix)) this.#forgetChannel(pair)
    for (const pair of this.#at.keys()) if (pair.startsWith(prefix)) this.#forget(pair)
  }

  #forgetChannel (pair: string): void {
    this.#channels.delete(pair)
    const [peer, channel] = splitPeerKey(pair)
    const peers = this.#byChannel.get(channel)
    peers?.delete(peer)
    if (peers?.size === 0) this.#byChannel.delete(channel)
  }

  #forget (pair: string): void {
    this.#at.delete(pair)
    this.#d.scope.include(...splitPeerKey(pair))
  }
}
