/**
 * Eager push and its tree (Plumtree-like): newly stored envelopes go to the peers that
 * need them (forwarding.ts decides which), as copies or, where a peer asked for an
 * author's envelopes lazily (`prune`), as announcements (`have`). A duplicate asks its
 * sender to go lazy; an announced id that does not arrive in time is asked for (`want`);
 * an envelope that arrives well after another peer announced it asks that faster peer to
 * push again (`graft`). Also serves `want` and `wantSeq`.
 *
 * @example
 * push.forward(env, from, repair)                 // after it is stored (or while it is written)
 * push.pruneAfterDuplicate(link, env.author, key)
 * push.heardHave(link, frame.ids)
 */
import { idFromKey, idKey, type Catalog } from './catalog.ts'
import { announcesRelayed, pushMode, roundTripWaitMs, shouldPush, siblingGoesFirst } from './forwarding.ts'
import { streamAuthorKey, streamChannelKey } from './stream-key.ts'
import type { Links } from './links.ts'
import type { MessageLog } from './log.ts'
import type { LinkOutput } from './outbound.ts'
import { flowOf, type OutEnvelope, type PeerLink } from './peer.ts'
import type { Counters, EngineConfig, Sender } from './types.ts'
import type { Envelope } from '../envelope.ts'
import { FrameType } from '../frames.ts'
import { authorWaysRememberedMax, awaitedIdsMax, lazyAuthorsPerPeerMax, peerPenaltyWasteful } from '../limits.ts'
import type { Clock, Logger, PeerId, StoreOp } from '../ports.ts'

export interface PushDeps {
  config: Pick<EngineConfig, 'nodeId' | 'haveBatchMs' | 'graftDelayMs' | 'graftLeadMs' | 'pruneRepeatMs' | 'youngLinkMs' | 'youngLinkHaveBatchMs' | 'youngLinkGraftDelayMs'>
  /** How our neighbours name us in their neighbour lists. */
  refKey: string
  clock: Pick<Clock, 'nowMs' | 'monotonicMs'>
  networkNowMs (): number
  counters: Pick<Counters, 'prunesSent' | 'grafts'>
  logger: Logger
  links: Pick<Links, 'get' | 'isCurrent' | 'values'>
  catalog: Pick<Catalog, 'get' | 'authors'>
  log: Pick<MessageLog, 'get' | 'lazyOp'>
  /** Whether we hold (or are storing, or hold pending) the envelope with this id key. */
  holds (key: string): boolean
  write (ops: StoreOp[]): Promise<void>
  /**
   * Whether a link crosses a boundary between organisations (#29): such a link is always pushed
   * to, never announced to, so what the boundary policy withholds is never even named there
   * (a push is judged before it leaves; an announcement is not).
   */
  acrossBoundary? (link: PeerLink): boolean
  /** Whether the peer said it does not carry this channel (an id key; declined.ts): nothing of it is pushed or announced there. */
  declines? (peer: PeerId, channel: string): boolean
  output: LinkOutput
  schedule (ms: number, fn: () => void): void
}

export class EagerPush {
  readonly #d: PushDeps
  /** Ids announced to us that we are waiting (the graft delay) to receive eagerly: who announced first, and when. */
  readonly #awaiting = new Map<string, { link: PeerLink, atMs: number }>()
  /** Streams (channel, author) we have forwarded an envelope of (at most `authorWaysRememberedMax`). */
  readonly #streams = new Set<string>()
  /** Authors (ref keys) → where their first envelope reached us from (at most `authorWaysRememberedMax`). */
  readonly #upstream = new Map<string, Sender>()

  constructor (deps: PushDeps) { this.#d = deps }

  /**
   * Eager push of a newly stored envelope. The first envelope of an author new to us is
   * announced, not pushed, to a peer that pruned an author whose envelopes reached us
   * the same way: per-author trees otherwise start with a duplicate on every redundant
   * link (two, where copies cross between nodes equally far from the source).
   */
  forward (env: Envelope, from: Sender, repair = false): void {
    const d = this.#d
    const source = from === 'local' ? undefined : d.links.get(from)
    let author: string | undefined
    let out: OutEnvelope | undefined
    const newAuthor = !this.#streams.has(env.stream) && this.#firstOfAuthor(env, from)
    const channel = streamChannelKey(env.stream)
    for (const q of d.links.values()) {
      if (!q.ready || q.id === from) continue
      if (d.declines?.(q.id, channel) === true) continue
      if (source !== undefined && !shouldPush(source, q, d.refKey)) continue
      if (newAuthor && q.prunedUpstream(from)) this.#setLazy(q, env.author, true)
      const lazy = (q.lazyAuthors.size > 0 && q.isLazy(author ??= idKey(env.author))) ||
        (source !== undefined && this.#siblingReaches(source, q) && !q.asked(author ??= idKey(env.author))) ||
        (source !== undefined && !repair && announcesRelayed(d.clock.nowMs() - q.readyAtMs, d.config.youngLinkMs, () => this.#otherNeighbourReaches(source, q)))
      switch (d.acrossBoundary?.(q) === true ? 'push' : pushMode(lazy, repair, d.config.nodeId, q.id)) {
        case 'announce': this.#announce(q, env.id); break
        case 'push-after-round-trip': this.#pushAfterRoundTrip(q, env.precedence, out ??= outEnvelope(env)); break
        case 'push': d.output.offer(q, env.precedence, out ??= outEnvelope(env), false)
      }
    }
  }

  /**
   * Whether another neighbour that the source pushed this envelope to reaches `q` and
   * goes first (forwarding.ts): then our copy would cross its copy, and we announce instead
   * (unless `q` asked us for this author before: that sibling does not push it to `q`).
   */
  #siblingReaches (source: PeerLink, q: PeerLink): boolean {
    const d = this.#d
    for (const c of d.links.values()) {
      if (c !== q && c !== source && c.ready && siblingGoesFirst(source, c, q, d.refKey, d.config.nodeId)) return true
    }
    return false
  }

  /** Whether a ready neighbour other than the source and `q` advertised `q` as its neighbour. */
  #otherNeighbourReaches (source: PeerLink, q: PeerLink): boolean {
    for (const c of this.#d.links.values()) {
      if (c !== q && c !== source && c.ready && c.neighbours.has(q.refKey)) return true
    }
    return false
  }

  /** Whether a link is young (`youngLinkMs`): announcements on it stand in for pushes, so they go and are answered sooner. */
  #young (link: PeerLink): boolean { return this.#d.clock.nowMs() - link.readyAtMs < this.#d.config.youngLinkMs }

  #pushAfterRoundTrip (q: PeerLink, precedence: number, item: OutEnvelope): void {
    this.#d.schedule(roundTripWaitMs(q.costMs), () => { if (this.#d.links.isCurrent(q)) this.#d.output.offer(q, precedence, item, false) })
  }

  /** Records a stream's first envelope; true if its author is new to us too (and notes where it came from). */
  #firstOfAuthor (env: Envelope, from: Sender): boolean {
    if (this.#streams.size >= authorWaysRememberedMax) return false
    this.#streams.add(env.stream)
    const author = idKey(env.author)
    if (this.#upstream.has(author) || this.#upstream.size >= authorWaysRememberedMax) return false
    this.#upstream.set(author, from)
    return true
  }

  /** The peer asks us to announce this author's envelopes rather than push them. */
  heardPrune (link: PeerLink, author: Uint8Array): void {
    const key = idKey(author)
    const refusal = this.#pruneRefusal(link, key)
    if (refusal !== undefined) { this.#d.output.penalise(link, peerPenaltyWasteful, refusal); return }
    const upstream = this.#upstream.get(key)
    if (upstream !== undefined) link.upstreamPruned(upstream, true)
    this.#setLazy(link, author, true)
  }

  /** The peer asks us to push this author's envelopes eagerly again. */
  heardGraft (link: PeerLink, author: Uint8Array): void {
    const upstream = this.#upstream.get(idKey(author))
    if (upstream !== undefined) link.upstreamPruned(upstream, false)
    this.#setLazy(link, author, false)
  }

  /**
   * Why a `prune` is refused (each is kept, in memory and on disk): an author we hold nothing
   * of cannot have sent the peer a duplicate, and one peer's prunes are bounded.
   */
  #pruneRefusal (link: PeerLink, author: string): string | undefined {
    if (link.isLazy(author)) return undefined
    if (!this.#d.catalog.authors.has(author) && !this.#upstream.has(author)) return 'prune names an author we hold nothing of'
    if (link.lazyAuthors.size >= lazyAuthorsPerPeerMax) return `more than ${lazyAuthorsPerPeerMax} prunes`
    return undefined
  }

  /**
   * Whether we announce (lazy) or push `author`'s envelopes to this peer, as it asked. Kept
   * on disk too: a relay back from a restart would otherwise push every peer the next
   * envelope of every author it had been asked to announce, one duplicate each. A failed
   * write costs only that; the link's state in memory is right either way.
   */
  #setLazy (link: PeerLink, author: Uint8Array, lazy: boolean): void {
    if (!link.setLazy(idKey(author), lazy)) return
    this.#d.write([this.#d.log.lazyOp(link.id, author, lazy)]).catch((e: unknown) => {
      this.#d.logger.warn({ peer: link.id, err: (e as Error).message }, 'could not record a peer\'s prune; after a restart it gets one duplicate per author')
    })
  }

  /**
   * Tells a peer that pushed us a duplicate to announce this author's envelopes instead,
   * once per author per link per `pruneRepeatMs` (a duplicate that was a reconciliation's
   * repair is not one: the caller checks that first).
   */
  pruneAfterDuplicate (link: PeerLink, author: Uint8Array): void {
    const d = this.#d
    const key = idKey(author)
    const nowMs = d.clock.nowMs()
    const last = link.prunedAt(key)
    if ((last !== undefined && nowMs - last < d.config.pruneRepeatMs) || !d.links.isCurrent(link)) return
    link.pruning(key, nowMs)
    d.counters.prunesSent++
    link.control({ type: FrameType.prune, author })
    d.output.pump(link)
  }

  /** A peer announced ids (`have`): it holds them; those we lack are awaited from it. */
  heardHave (link: PeerLink, ids: Uint8Array[]): void {
    const d = this.#d
    // Past the peer's announcement rate the frame is dropped: what it names is found by reconciliation.
    if (!link.announcing(ids.length, d.clock.monotonicMs())) return
    const nowMs = d.clock.nowMs()
    // Only ids we hold matter to what we send it: an announcement of anything else adds nothing to remember.
    for (const id of ids) { const k = idKey(id); if (d.holds(k)) link.peerHolds(k, nowMs) }
    this.#announced(link, ids)
  }

  /** If an eager copy of an announced id does not arrive within the graft delay, ask the announcer. */
  #announced (link: PeerLink, ids: Uint8Array[]): void {
    const d = this.#d
    // Past the bound, announcements are left to reconciliation: a `have` flood cannot grow this map.
    const room = awaitedIdsMax - this.#awaiting.size
    const missing = ids.filter(id => { const k = idKey(id); return !d.holds(k) && !this.#awaiting.has(k) }).slice(0, Math.max(0, room))
    if (missing.length === 0) return
    const first = { link, atMs: d.clock.nowMs() }
    for (const id of missing) this.#awaiting.set(idKey(id), first)
    d.schedule(this.#young(link) ? d.config.youngLinkGraftDelayMs : d.config.graftDelayMs, () => {
      for (const id of missing) this.#awaiting.delete(idKey(id))
      const still = missing.filter(id => !d.holds(idKey(id)))
      if (still.length === 0 || !d.links.isCurrent(link)) return
      d.counters.grafts++
      link.controlIds(FrameType.want, still)
      d.output.pump(link)
    })
  }

  /**
   * Plumtree's optimisation: an envelope that arrives from `link` well after another peer
   * announced it came the long way round. Ask the announcer to push this author's envelopes
   * to us again (graft); the slow path's copies then arrive second, as duplicates, and
   * `pruneAfterDuplicate` turns it lazy. Without this a tree built while the fast link was
   * down (a partition, a heal won by the slow side) stays on the detour for good.
   */
  arrived (link: PeerLink, env: Envelope): void {
    const d = this.#d
    if (this.#awaiting.size === 0) return
    const first = this.#awaiting.get(env.key)
    if (first === undefined || first.link === link || !d.links.isCurrent(first.link)) return
    const nowMs = d.clock.nowMs()
    // A lead over a round trip of the announcer's link (and its have batching) is no queueing artefact either.
    const leadMs = Math.min(d.config.graftLeadMs, 2 * first.link.costMs + d.config.haveBatchMs)
    if (nowMs - first.atMs < leadMs) return
    const prunedAt = first.link.prunedAt(idKey(env.author))
    if (prunedAt !== undefined && nowMs - prunedAt < d.config.pruneRepeatMs) return
    this.#awaiting.delete(env.key)
    d.counters.grafts++
    first.link.control({ type: FrameType.graft, author: env.author })
    d.output.pump(first.link)
  }

  /** Tells `q` we hold `id`, in the next batch of announcements (`haveBatchMs`). */
  announce (q: PeerLink, id: Uint8Array): void { this.#announce(q, id) }

  #announce (q: PeerLink, id: Uint8Array): void {
    if (!q.announce(id)) return // a flush is scheduled already
    const d = this.#d
    d.schedule(this.#young(q) ? d.config.youngLinkHaveBatchMs : d.config.haveBatchMs, () => {
      const ids = q.takeAnnouncements()
      if (!this.#d.links.isCurrent(q)) return
      q.controlIds(FrameType.have, ids)
      this.#d.output.pump(q)
    })
  }

  /**
   * Sends the unexpired envelopes we hold among `ids` to a peer, by precedence. When the peer asked
   * (`graft`), it lacked them: push that author's envelopes to it eagerly again.
   */
  serve (link: PeerLink, ids: Uint8Array[], graft = false): void {
    const d = this.#d
    const nowNetworkMs = d.networkNowMs()
    for (const id of ids) {
      const entry = d.catalog.get(idKey(id))
      // Expired but not yet purged (purges run every purgeIntervalMs): never re-synced.
      if (entry === undefined || entry.expiresAtMs <= nowNetworkMs) continue
      if (graft) {
        const author = streamAuthorKey(entry.stream)
        this.#setLazy(link, idFromKey(author), false)
        link.askedFor(author)
      }
      const key = idKey(id)
      if (link.isQueued(key) || (!graft && link.sentRecently(key, d.clock.nowMs()))) continue
      link.backlog.delete(key) // asked for now (a gap), so not again later
      void d.log.get(id).then(rec => {
        if (rec !== undefined && d.links.isCurrent(link)) d.output.offer(link, rec.envelope.precedence, outEnvelope(rec.envelope), graft)
      }, (e: unknown) => { d.logger.error({ err: (e as Error).message }, 'store read failed while serving a peer') })
    }
  }
}

function outEnvelope (env: Envelope): OutEnvelope {
  return { id: env.id, key: env.key, bytes: env.bytes, expiresAtMs: env.expiresAtMs, flow: flowOf(env) }
}
