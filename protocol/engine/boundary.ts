/**
 * The engine's side of the boundary between organisations (#29). On a link to a partner's
 * relay, the host's policy judges every envelope: one it refuses from the partner is not
 * stored, and the partner is told why (a `refused` frame, ERR_POLICY, no penalty); one it
 * keeps from the partner is not sent. Either refusal then travels back the way the envelope
 * came, one relay at a time, each remembering the link an envelope first arrived over, to the
 * relay its author submitted it at, whose clients see the reason (`refusedBeyond`).
 *
 * A verdict that only makes an envelope wait (a rate) is not remembered: it is judged again when
 * the envelope is offered again. A refusal is judged, audited and told once per peer and
 * envelope, and an envelope we hold that was kept from a peer, or that it refused, leaves that
 * link's reconciliation (scoped-set.ts): it is not found as a difference there again. Until it
 * is first judged it may be, once: the partner then learns its id, a hash, and nothing else.
 *
 * @example
 * const boundary = new Boundary({ policy, decode, counters, events, links, output })
 * if (!boundary.receives(env, link.id)) return   // intake, once the envelope verified
 * if (boundary.withholds(link, item)) return    // before anything is sent
 */
import { idKey } from './catalog.ts'
import type { Links } from './links.ts'
import type { LinkOutput } from './outbound.ts'
import type { OutEnvelope, PeerLink } from './peer.ts'
import { peerKey, splitPeerKey, type ScopedSet } from './scoped-set.ts'
import type { BoundaryPolicy, Counters, EngineEvents } from './types.ts'
import type { Envelope } from '../envelope.ts'
import { FrameType, frameText } from '../frames.ts'
import { crossingOriginsRememberedMax, crossingVerdictsRememberedMax } from '../limits.ts'
import type { PeerId } from '../ports.ts'

export interface BoundaryDeps {
  policy: BoundaryPolicy
  decode (bytes: Uint8Array): Envelope
  counters: Pick<Counters, 'crossingsRefused'>
  events: Pick<EngineEvents, 'crossingRefused' | 'refusedBeyond'> | undefined
  links: Pick<Links, 'get'>
  output: Pick<LinkOutput, 'pump'>
  /** Whether this relay holds the envelope with this id key (a refusal of anything else is not passed on). */
  holds (key: string): boolean
  /** Each link's reconciliation scope: what must not go to a peer leaves it. */
  scope: Pick<ScopedSet, 'exclude' | 'include'>
}

/** Adds to an insertion-ordered set or map, forgetting the oldest past `max`. */
function remember<K> (set: Set<K>, key: K, max: number): void {
  set.add(key)
  if (set.size > max) set.delete(set.values().next().value as K)
}

export class Boundary {
  readonly #d: BoundaryDeps
  /** Id key → the peer the envelope first arrived from. */
  readonly #cameFrom = new Map<string, PeerId>()
  /** `peer\0idKey` → refused from, or withheld from, that peer; true if that took it out of the link's scope. */
  readonly #verdicts = new Map<string, boolean>()
  /** Id keys whose refusal was passed on already. */
  readonly #told = new Set<string>()

  constructor (deps: BoundaryDeps) { this.#d = deps }

  /** Whether this link crosses the boundary (to a partner's relay). */
  crosses (link: PeerLink): boolean { return this.#d.policy.partner(link.id) !== undefined }

  #arrived (key: string, from: PeerId): void {
    if (this.#cameFrom.has(key)) return
    this.#cameFrom.set(key, from)
    if (this.#cameFrom.size > crossingOriginsRememberedMax) this.#cameFrom.delete(this.#cameFrom.keys().next().value as string)
  }

  /**
   * A verified envelope arrived from `peer`: whether it may be stored (if not, the peer is told
   * why, once); if so, where it came from is noted, to send a refusal further on back there.
   */
  receives (env: Envelope, peer: PeerId): boolean {
    if (!this.#admits(env, peer)) return false
    this.#arrived(env.key, peer)
    return true
  }

  #admits (env: Envelope, peer: PeerId): boolean {
    const d = this.#d
    if (d.policy.partner(peer) === undefined) return true
    const pair = peerKey(peer, env.key)
    if (this.#verdicts.has(pair)) return false
    const verdict = d.policy.judge(peer, env, 'in')
    if (verdict === undefined) return true
    if (verdict.wait) return false // offered again at the next reconciliation
    const reason = verdict.reason
    this.#remember(peer, env.key, false)
    d.counters.crossingsRefused++
    d.events?.crossingRefused?.(env, peer, reason, 'in')
    this.#tell(peer, env.id, reason)
    return false
  }

  /** Whether an envelope must not go to this link: the policy keeps it from the partner, or the partner refused it already. */
  withholds (link: PeerLink, item: OutEnvelope): boolean {
    const d = this.#d
    const partner = d.policy.partner(link.id)
    if (partner === undefined) return false
    const pair = peerKey(link.id, item.key)
    if (this.#verdicts.has(pair)) return true
    let env: Envelope
    try { env = d.decode(item.bytes) } catch { return false } // it verified when it was stored; the partner judges a damaged one
    const verdict = d.policy.judge(link.id, env, 'out')
    if (verdict === undefined) return false
    if (verdict.wait) return true // offered again at the next reconciliation
    const reason = verdict.reason
    this.#remember(link.id, item.key, true)
    d.counters.crossingsRefused++
    d.events?.crossingRefused?.(env, link.id, reason, 'out')
    this.#passBack(item.id, item.key, `kept from ${partner} by our gateway: ${reason}`, undefined)
    return true
  }

  /**
   * A peer says envelopes did not cross a boundary, at it or further on (`refused`, ERR_POLICY):
   * they are not sent to it again, and the reason goes on back. A partner's words are named as
   * its gateway's.
   */
  heardRefusal (link: PeerLink, ids: Uint8Array[], reason: string): void {
    const partner = this.#d.policy.partner(link.id)
    const said = partner === undefined ? reason : `refused at ${partner}'s gateway: ${reason}`
    for (const id of ids) {
      const key = idKey(id)
      if (!this.#d.holds(key)) continue // not ours to hear about: nothing to tell anyone
      this.#remember(link.id, key, true)
      this.#passBack(id, key, said, link.id)
    }
  }

  /**
   * Remembers that an envelope did not cross to or from `peer`; one we hold (`held`) leaves that
   * link's reconciliation. The oldest verdict past the bound is forgotten, and its envelope is
   * offered there again (judged again if it is owed).
   */
  #remember (peer: PeerId, key: string, held: boolean): void {
    const verdicts = this.#verdicts
    const pair = peerKey(peer, key)
    if (verdicts.has(pair)) return // a partner may refuse one twice: it is kept out once
    verdicts.set(pair, held)
    if (held) this.#d.scope.exclude(peer, key)
    if (verdicts.size <= crossingVerdictsRememberedMax) return
    const [oldest, excluded] = verdicts.entries().next().value as [string, boolean]
    verdicts.delete(oldest)
    if (excluded) this.#include(oldest)
  }

  /** Offers a verdict's envelope (`peer\0idKey`) to its peer again. */
  #include (pair: string): void {
    this.#d.scope.include(...splitPeerKey(pair))
  }

  /**
   * Forgets every verdict (the policy changed): each envelope refused or kept from a peer goes
   * back into that link's reconciliation and is judged, audited and told again if it is refused
   * again. Where envelopes came from is kept, to pass new refusals back.
   */
  forgetVerdicts (): void {
    for (const [pair, excluded] of this.#verdicts) if (excluded) this.#include(pair)
    this.#verdicts.clear()
    this.#told.clear()
  }

  /** Tells this relay's clients (event) and the peer the envelope came from (once per envelope). */
  #passBack (id: Uint8Array, key: string, reason: string, heardFrom: PeerId | undefined): void {
    if (this.#told.has(key)) return
    remember(this.#told, key, crossingVerdictsRememberedMax)
    this.#d.events?.refusedBeyond?.(id, reason)
    const origin = this.#cameFrom.get(key)
    if (origin !== undefined && origin !== heardFrom) this.#tell(origin, id, reason)
  }

  #tell (peer: PeerId, id: Uint8Array, reason: string): void {
    const link = this.#d.links.get(peer)
    if (link === undefined || !link.ready) return
    link.control({ type: FrameType.refused, code: 'ERR_POLICY', ids: [id], reason: frameText(reason) })
    this.#d.output.pump(link)
  }
}
