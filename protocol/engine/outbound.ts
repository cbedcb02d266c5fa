/**
 * What leaves on links: envelopes offered to a peer (straight out on an idle link, else
 * queued by precedence), pumping a link until the transport pushes back, and charging a
 * misbehaving peer, which cuts its link once its score falls below the threshold.
 *
 * @example
 * const out = new Outbound({ transport, clock, counters, events, logger, networkNowMs, links, refill })
 * link.control(frame); out.pump(link)
 * out.offer(link, env.precedence, item, false)
 * out.penalise(link, peerPenaltyBadFrame, 'junk')
 */
import type { Links } from './links.ts'
import type { OutEnvelope, PeerLink } from './peer.ts'
import type { Counters, EngineEvents } from './types.ts'
import { controlQueueBytesMax, peerPenaltyUnread, peerScoreDisconnectBelow } from '../limits.ts'
import type { Clock, Logger, Transport } from '../ports.ts'

export interface OutboundDeps {
  transport: Transport
  clock: Pick<Clock, 'nowMs' | 'monotonicMs'>
  counters: Counters
  events: Pick<EngineEvents, 'sent' | 'penalised'> | undefined
  logger: Logger
  networkNowMs (): number
  links: Pick<Links, 'isCurrent' | 'remove'>
  /** A pumped link still owes its peer envelopes: feed its queue (catchup.ts). */
  refill (link: PeerLink): void
  /** Whether an envelope must not go to this peer (a boundary's policy, #29: boundary.ts); absent: everything may. */
  withholds? (link: PeerLink, item: OutEnvelope): boolean
}

/** What the parts that talk to peers use to send and to charge (a narrowing of Outbound). */
export type LinkOutput = Pick<Outbound, 'offer' | 'pump' | 'penalise'>

export class Outbound {
  readonly #deps: OutboundDeps

  constructor (deps: OutboundDeps) { this.#deps = deps }

  /**
   * Sends an envelope to a peer, unless it is queued there already or was just sent
   * (`force`: send anyway, the peer asked). On an idle link it goes straight out; else it
   * waits in the link's queue, by precedence.
   */
  offer (link: PeerLink, precedence: number, item: OutEnvelope, force: boolean): void {
    const d = this.#deps
    if (d.withholds?.(link, item) === true) return
    const nowMs = d.clock.nowMs()
    // An idle link's queue is empty, and every id in its map of queued ids is in the queue: no need to ask that map.
    if (link.idle && (force || !link.sentRecently(item.key, nowMs))) {
      const outcome = link.sendNow(item, d.transport, d.counters, nowMs, d.networkNowMs())
      if (outcome === 'sent') d.events?.sent?.(item.id, link.id, item.bytes)
      if (outcome !== 'blocked') return
    }
    if (link.enqueue(precedence, item, force, nowMs)) this.pump(link)
  }

  pump (link: PeerLink): void {
    const d = this.#deps
    if (link.unread) { this.penalise(link, peerPenaltyUnread, `more than ${controlQueueBytesMax} bytes of control frames wait for it: it does not read`); return }
    for (const sent of link.pump(d.transport, d.counters, d.clock.nowMs(), d.networkNowMs())) d.events?.sent?.(sent.id, link.id, sent.bytes)
    if (link.backlog.size > 0) d.refill(link)
  }

  penalise (link: PeerLink, points: number, reason: string): void {
    const score = link.penalise(points, this.#deps.clock.monotonicMs())
    this.#deps.logger.debug({ peer: link.id, score, reason }, 'peer penalised')
    if (score < peerScoreDisconnectBelow) this.cut(link, `score below ${peerScoreDisconnectBelow}: ${reason}`)
  }

  /** Drops a misbehaving peer's link and asks the host to disconnect it. */
  cut (link: PeerLink, reason: string): void {
    const d = this.#deps
    if (!d.links.isCurrent(link)) return
    d.counters.peersPenalised++
    d.links.remove(link.id)
    d.events?.penalised?.(link.id, reason)
    d.transport.disconnect(link.id, reason)
  }
}
