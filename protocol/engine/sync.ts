/**
 * The engine's conversation with peers beyond single envelopes: the hello
 * handshake, neighbour lists, eager forwarding decisions, set reconciliation,
 * wants, and sequence-gap repair. Split from engine.ts so each stays readable.
 *
 * Forwarding rule (dominant pruning with a shortcut): a node that received an
 * envelope from S pushes it to neighbour Q unless S advertised Q as its own
 * neighbour (S reaches Q itself), or the path through us is clearly faster than
 * S's direct link. The first neighbour of Q to receive an envelope always got it
 * from a node that is not Q's neighbour, so with current neighbour lists every
 * reachable node is pushed to; stale lists are repaired by reconciliation.
 */
import { idFromKey, idKey } from './catalog.ts'
import type { Engine } from './engine.ts'
import type { OutEnvelope, PeerLink } from './peer.ts'
import type { Envelope } from '../envelope.ts'
import { FrameType, linkVersion, type Frame } from '../frames.ts'
import { authorWaysRememberedMax, awaitedIdsMax, frameBytesMin, gapChecksPendingMax, gapRunsMax, idListItemsMax, lazyAuthorsPerPeerMax, peerPenaltyBadFrame, peerPenaltyWasteful, promisedIdsRememberedMax, reconcileSessionsPerMinuteMax, repairPushersRememberedMax } from '../limits.ts'
import { accept, initiate, type KeyRange, reconcile, reconcileVersion, type ReconcileStep } from '../reconcile/index.ts'
import type { PeerId } from '../ports.ts'
import type { Sender } from './types.ts'
import { CatchUp, type Promised } from './catchup.ts'
import { RangeWalk } from './ranges.ts'

/**
 * A path through us must beat the sender's direct link by this factor before we push a copy
 * too. A margin, because costs are estimates for a typical envelope; but not a wide one: at
 * 0.5, a valley of two 512 kbps hops (0.6 of a 128 kbps radio shortcut) was never used.
 * A redundant push costs one duplicate per author, then the per-author prune.
 */
const shortcutFactor = 0.8
/** Added to the round trip a reconciliation's pushes wait for the peer's `have` (its frame's own queueing), ms. */
const repairWaitSlackMs = 10
/** Bytes a reconcile frame adds around its payload (type, array, session, byte-string head). */
const reconcileFrameOverheadBytes = 16
/**
 * Reconciliation intervals a session we started may go without a message before we give it
 * up and start another: the link is reliable and ordered, so only a peer that dropped its
 * side (it speaks another version, or it hit an error) leaves one waiting, and without this
 * the link was never reconciled again. Several intervals, for a 64 KiB frame on slow radio.
 */
const sessionIdleIntervals = 3

export class SyncHandlers {
  readonly #e: Engine
  /** Ids announced to us that we are waiting (the graft delay) to receive eagerly: who announced first, and when. */
  readonly #awaiting = new Map<string, { link: PeerLink, atMs: number }>()
  /** Ids a reconciliation told us a peer is pushing to us → that link, since when (see #expect). */
  readonly #promised = new Map<string, Promised>()
  /**
   * Ids → every peer whose reconciliation said it would push them to us (the cheapest
   * keeps its promise, the others are declined but may have sent already). Their copies
   * are repair, not eager push: a duplicate among them says nothing about the push tree.
   */
  readonly #repairPushers = new Map<string, PeerLink[]>()
  #nextSession = 1
  /** Streams (channel, author) we have forwarded an envelope of (at most `authorWaysRememberedMax`). */
  readonly #streams = new Set<string>()
  /** Authors (ref keys) → where their first envelope reached us from (at most `authorWaysRememberedMax`). */
  readonly #upstream = new Map<string, Sender>()
  /** Per link we initiate on: the range-by-range pass under way, if a session split (ranges.ts). */
  readonly #walks = new WeakMap<PeerLink, RangeWalk>()
  /** Links whose peer spoke another version of reconciliation (we cannot reconcile with it; told once). */
  readonly #otherVersion = new WeakSet<PeerLink>()
  /** What each peer is owed and has promised, moving at its link's pace (catchup.ts). */
  readonly #catchUp: CatchUp
  /** Streams with a gap check pending → the numbers revealed missing so far (at most `gapChecksPendingMax`). */
  readonly #gaps = new Map<string, GapCheck>()

  constructor (engine: Engine) {
    this.#e = engine
    this.#catchUp = new CatchUp(engine, link => { this.#startReconcile(link) })
  }

  /** Feeds owed envelopes to a link whose queue drained (the engine calls it after each pump). */
  refill (link: PeerLink): void { this.#catchUp.refill(link) }

  handle (link: PeerLink, frame: Frame): void {
    switch (frame.type) {
      case FrameType.hello: return this.#hello(link, frame)
      case FrameType.neighbours:
        link.heardNeighbours(frame.neighbours.map(n => [idKey(n.ref), n.costMs]))
        return
      case FrameType.have: {
        // Past the peer's announcement rate the frame is dropped: what it names is found by reconciliation.
        if (!link.announcing(frame.ids.length, this.#e.deps.clock.monotonicMs())) return
        const nowMs = this.#e.deps.clock.nowMs()
        // Only ids we hold matter to what we send it: an announcement of anything else adds nothing to remember.
        for (const id of frame.ids) { const k = idKey(id); if (this.#e.holds(k)) link.peerHolds(k, nowMs) }
        return this.#announced(link, frame.ids)
      }
      case FrameType.want: return this.serve(link, frame.ids, true)
      case FrameType.prune: {
        const author = idKey(frame.author)
        const refusal = this.#pruneRefusal(link, author)
        if (refusal !== undefined) { this.#e.penalise(link, peerPenaltyWasteful, refusal); return }
        const upstream = this.#upstream.get(author)
        if (upstream !== undefined) link.upstreamPruned(upstream, true)
        return this.#setLazy(link, frame.author, true)
      }
      case FrameType.graft: {
        const upstream = this.#upstream.get(idKey(frame.author))
        if (upstream !== undefined) link.upstreamPruned(upstream, false)
        return this.#setLazy(link, frame.author, false)
      }
      case FrameType.reconcile: return this.#reconcileFrame(link, frame.session, frame.payload)
      case FrameType.wantSeq: {
        const stream = idKey(frame.channel) + idKey(frame.author)
        return this.serve(link, this.#e.catalog.idsInSeqRange(stream, frame.seqFrom, frame.seqTo).map(idFromKey))
      }
      case FrameType.refused:
      case FrameType.bye:
        this.#e.deps.logger.info({ peer: link.id, frame: frame.type, code: frame.code }, 'peer notice')
    }
  }

  #hello (link: PeerLink, frame: Extract<Frame, { type: typeof FrameType.hello }>): void {
    if (link.ready) { this.#e.penalise(link, peerPenaltyBadFrame, 'second hello'); return }
    if (linkVersion < frame.versionMin || linkVersion > frame.versionMax) {
      link.control({ type: FrameType.bye, code: 'ERR_PROTOCOL', reason: `we speak link version ${linkVersion}` })
      this.#e.pump(link)
      this.#e.peers.forget(link.id)
      this.#e.deps.transport.disconnect(link.id, `no common link version (peer ${frame.versionMin}..${frame.versionMax})`)
      return
    }
    link.heardHello(frame.nowMs, this.#e.deps.clock.nowMs(), frame.frameBytesMax)
    this.#e.clockPeersChanged()
    this.advertiseNeighbours()
    this.#startReconcile(link)
  }

  /**
   * Why a `prune` is refused (each is kept, in memory and on disk): an author we hold nothing
   * of cannot have sent the peer a duplicate, and one peer's prunes are bounded.
   */
  #pruneRefusal (link: PeerLink, author: string): string | undefined {
    if (link.isLazy(author)) return undefined
    if (!this.#e.catalog.authors.has(author) && !this.#upstream.has(author)) return 'prune names an author we hold nothing of'
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
    this.#e.write([this.#e.log.lazyOp(link.id, author, lazy)]).catch((e: unknown) => {
      this.#e.deps.logger.warn({ peer: link.id, err: (e as Error).message }, 'could not record a peer\'s prune; after a restart it gets one duplicate per author')
    })
  }

  /** Tells every ready peer who our ready neighbours are. */
  advertiseNeighbours (): void {
    const neighbours = [...this.#e.peers.values()].filter(p => p.ready).map(p => ({ ref: idFromKey(p.refKey), costMs: Math.round(p.costMs) }))
    for (const p of this.#e.peers.values()) {
      if (!p.ready) continue
      p.control({ type: FrameType.neighbours, neighbours })
      this.#e.pump(p)
    }
  }

  /**
   * Eager push of a newly stored envelope. The first envelope of an author new to us is
   * announced, not pushed, to a peer that pruned an author whose envelopes reached us
   * the same way: per-author trees otherwise start with a duplicate on every redundant
   * link (two, where copies cross between nodes equally far from the source).
   */
  forward (env: Envelope, from: Sender, repair = false): void {
    const source = from === 'local' ? undefined : this.#e.peers.get(from)
    let author: string | undefined
    let out: OutEnvelope | undefined
    const newAuthor = !this.#streams.has(env.stream) && this.#firstOfAuthor(env, from)
    for (const q of this.#e.peers.values()) {
      if (!q.ready || q.id === from) continue
      if (source !== undefined && !this.#shouldPush(source, q)) continue
      if (newAuthor && q.prunedUpstream(from)) this.#setLazy(q, env.author, true)
      if (q.lazyAuthors.size > 0 && q.isLazy(author ??= idKey(env.author))) this.#announce(q, env.id)
      else if (repair && this.#e.config.nodeId > q.id) this.#pushAfterRoundTrip(q, env.precedence, out ??= outEnvelope(env.id, env.bytes, env.expiresAtMs, env.key))
      else this.#enqueue(q, env.precedence, out ??= outEnvelope(env.id, env.bytes, env.expiresAtMs, env.key))
    }
  }

  /**
   * Two neighbours repaired by reconciliation at once (a partition healing) each push the
   * backlog on to the other, and the copies cross. The side with the larger id waits one
   * round trip: the other's copy then arrives first, marks the peer as holding it, and
   * ours is not sent.
   */
  #pushAfterRoundTrip (q: PeerLink, precedence: number, item: OutEnvelope): void {
    this.#e.schedule(2 * q.costMs + repairWaitSlackMs, () => { if (this.#e.peers.isCurrent(q)) this.#enqueue(q, precedence, item) })
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

  /**
   * Tells a peer that pushed us a duplicate to announce this author's envelopes instead
   * (once per author per link per `pruneRepeatMs`), unless its copy was a reconciliation's
   * repair: after a partition heals, a holder's repair push often arrives second (it waits
   * a round trip) though its link is the shortest path, and pruning it would leave the
   * author's envelopes on a detour for good.
   */
  pruneAfterDuplicate (link: PeerLink, author: Uint8Array, id: string): void {
    const pushers = this.#repairPushers.size > 0 ? this.#repairPushers.get(id) : undefined
    if (pushers?.includes(link) === true) {
      if (pushers.length === 1) this.#repairPushers.delete(id)
      else pushers.splice(pushers.indexOf(link), 1)
      return
    }
    const key = idKey(author)
    const nowMs = this.#e.deps.clock.nowMs()
    const last = link.prunedAt(key)
    if ((last !== undefined && nowMs - last < this.#e.config.pruneRepeatMs) || !this.#e.peers.isCurrent(link)) return
    link.pruning(key, nowMs)
    this.#e.counters.prunesSent++
    link.control({ type: FrameType.prune, author })
    this.#e.pump(link)
  }

  /** A peer announced ids: if an eager copy does not arrive within the graft delay, ask this peer. */
  #announced (link: PeerLink, ids: Uint8Array[]): void {
    // Past the bound, announcements are left to reconciliation: a `have` flood cannot grow this map.
    const room = awaitedIdsMax - this.#awaiting.size
    const missing = ids.filter(id => { const k = idKey(id); return !this.#e.holds(k) && !this.#awaiting.has(k) }).slice(0, Math.max(0, room))
    if (missing.length === 0) return
    const first = { link, atMs: this.#e.deps.clock.nowMs() }
    for (const id of missing) this.#awaiting.set(idKey(id), first)
    this.#e.schedule(this.#e.config.graftDelayMs, () => {
      for (const id of missing) this.#awaiting.delete(idKey(id))
      const still = missing.filter(id => !this.#e.holds(idKey(id)))
      if (still.length === 0 || !this.#e.peers.isCurrent(link)) return
      this.#e.counters.grafts++
      this.#want(link, still)
    })
  }

  /**
   * Plumtree's optimisation: an envelope that arrives from `link` well after another peer
   * announced it came the long way round. Ask the announcer to push this author's envelopes
   * to us again (graft); the slow path's copies then arrive second, as duplicates, and
   * `pruneAfterDuplicate` turns it lazy. Without this a tree built while the fast link was
   * down (a partition, a heal won by the slow side) stays on the detour for good.
   */
  arrived (link: PeerLink, env: Envelope): boolean {
    const promise = this.#promised.size > 0 ? this.#promised.get(env.key) : undefined
    const repair = promise !== undefined
    if (promise !== undefined) {
      this.#promised.delete(env.key)
      this.#catchUp.settled(promise, true)
    }
    if (this.#awaiting.size === 0) return repair
    const first = this.#awaiting.get(env.key)
    if (first === undefined || first.link === link || !this.#e.peers.isCurrent(first.link)) return repair
    const nowMs = this.#e.deps.clock.nowMs()
    // A lead over a round trip of the announcer's link (and its have batching) is no queueing artefact either.
    const leadMs = Math.min(this.#e.config.graftLeadMs, 2 * first.link.costMs + this.#e.config.haveBatchMs)
    if (nowMs - first.atMs < leadMs) return repair
    const prunedAt = first.link.prunedAt(idKey(env.author))
    if (prunedAt !== undefined && nowMs - prunedAt < this.#e.config.pruneRepeatMs) return repair
    this.#awaiting.delete(env.key)
    this.#e.counters.grafts++
    first.link.control({ type: FrameType.graft, author: env.author })
    this.#e.pump(first.link)
    return repair
  }

  #announce (q: PeerLink, id: Uint8Array): void {
    if (!q.announce(id)) return // a flush is scheduled already
    this.#e.schedule(this.#e.config.haveBatchMs, () => {
      const ids = q.takeAnnouncements()
      if (!this.#e.peers.isCurrent(q)) return
      for (let i = 0; i < ids.length; i += idListItemsMax) q.control({ type: FrameType.have, ids: ids.slice(i, i + idListItemsMax) })
      this.#e.pump(q)
    })
  }

  #shouldPush (source: PeerLink, q: PeerLink): boolean {
    const direct = source.neighbours.get(q.refKey)
    if (direct === undefined) return true
    const toUs = source.neighbours.get(this.#e.refKey) ?? source.costMs
    return toUs + q.costMs < direct * shortcutFactor
  }

  #enqueue (q: PeerLink, precedence: number, item: OutEnvelope, force = false): void {
    this.#e.offer(q, precedence, item, force)
  }

  /**
   * Sends the unexpired envelopes we hold among `ids` to a peer, by precedence. When the peer asked
   * (`graft`), it lacked them: push that author's envelopes to it eagerly again.
   */
  serve (link: PeerLink, ids: Uint8Array[], graft = false): void {
    const nowNetworkMs = this.#e.networkNowMs()
    for (const id of ids) {
      const entry = this.#e.catalog.get(idKey(id))
      // Expired but not yet purged (purges run every purgeIntervalMs): never re-synced.
      if (entry === undefined || entry.expiresAtMs <= nowNetworkMs) continue
      if (graft) this.#setLazy(link, idFromKey(entry.stream.slice(8)), false)
      const key = idKey(id)
      if (link.isQueued(key) || (!graft && link.sentRecently(key, this.#e.deps.clock.nowMs()))) continue
      link.backlog.delete(key) // asked for now (a gap), so not again later
      void this.#e.log.get(id).then(rec => {
        if (rec !== undefined && this.#e.peers.isCurrent(link)) this.#enqueue(link, rec.envelope.precedence, outEnvelope(id, rec.envelope.bytes, rec.envelope.expiresAtMs), graft)
      }, (e: unknown) => { this.#e.deps.logger.error({ err: (e as Error).message }, 'store read failed while serving a peer') })
    }
  }

  /**
   * Pushes what a reconciliation found the peer lacking, at its link's pace (catchup.ts). A
   * peer with other neighbours may be learning the same ids from them (a node back from a
   * crash reconciles with all at once): wait one round trip, so that its `have` for the ids
   * it leaves to another link (see #expect) arrives before our copies leave.
   */
  #serveDifference (link: PeerLink, ids: Uint8Array[]): void {
    if (link.neighbours.size <= 1) { this.#catchUp.owe(link, ids); return }
    this.#e.schedule(2 * link.costMs + repairWaitSlackMs, () => { if (this.#e.peers.isCurrent(link)) this.#catchUp.owe(link, ids) })
  }

  #want (link: PeerLink, ids: Uint8Array[]): void {
    for (let i = 0; i < ids.length; i += idListItemsMax) {
      link.control({ type: FrameType.want, ids: ids.slice(i, i + idListItemsMax) })
    }
    if (ids.length > 0) this.#e.pump(link)
  }

  // ---- Reconciliation: the peer with the smaller id initiates ------------------

  reconcileAll (): void {
    for (const link of this.#e.peers.ready()) this.#startReconcile(link)
  }

  #startReconcile (link: PeerLink): void {
    if (this.#e.config.nodeId >= link.id || this.#otherVersion.has(link)) return
    const nowMs = this.#e.deps.clock.monotonicMs()
    if (link.initiator !== undefined) {
      if (nowMs - link.lastReconcileMs < sessionIdleIntervals * this.#e.config.reconcileIntervalMs) return
      this.#e.deps.logger.info({ peer: link.id, session: link.initiator.id }, 'reconciliation session got no answer; starting another')
      this.#walks.get(link)?.abandon()
    }
    // While a difference found earlier is still moving, finding it again would cost bytes for nothing.
    if (this.#catchUp.waits(link, this.#walks.get(link)?.active === true)) return
    const id = this.#nextSession++
    const range = this.#walks.get(link)?.next()
    const { session, message } = initiate(this.#e.set, { frameBytesMax: this.#payloadMax(link), range })
    link.sessionStarted({ id, session }, nowMs)
    this.#e.counters.reconcileSessions++
    link.control({ type: FrameType.reconcile, session: id, payload: message })
    this.#e.pump(link)
  }

  #payloadMax (link: PeerLink): number {
    return Math.max(frameBytesMin, link.frameBytesMax - reconcileFrameOverheadBytes)
  }

  #reconcileFrame (link: PeerLink, session: number, payload: Uint8Array): void {
    // A relay one version behind or ahead (an upgrade under way) is not misbehaving: we cannot
    // reconcile with it, so we stop trying on this link; eager push and want still work.
    if (payload.length > 0 && payload[0] !== reconcileVersion) { this.#speaksOtherVersion(link, payload[0]); return }
    const weInitiated = this.#e.config.nodeId < link.id
    let slot = weInitiated ? link.initiator : link.responder
    if (!weInitiated && slot?.id !== session) {
      if (!link.sessionOpened(this.#e.deps.clock.monotonicMs())) {
        this.#e.penalise(link, peerPenaltyBadFrame, `opens reconciliation sessions faster than ${reconcileSessionsPerMinuteMax} a minute`)
        return
      }
      slot = { id: session, session: accept(this.#e.set, { frameBytesMax: this.#payloadMax(link) }) }
      link.responding(slot)
    }
    if (slot === undefined || slot.id !== session) return // a stale session's late reply
    if (weInitiated) link.sessionHeard(this.#e.deps.clock.monotonicMs())
    let step: ReconcileStep
    try {
      step = reconcile(slot.session, payload)
    } catch (e) {
      // Only junk and lies throw here (undecodable bytes, a declared size past a limit, a key
      // decoded twice, unasked-for answers): a difference too large for one session, or a
      // limit reached in honest progress, ends the session with SPLIT or ABORT instead.
      this.#endSession(link, weInitiated)
      this.#walks.get(link)?.abandon()
      this.#e.penalise(link, peerPenaltyBadFrame, `reconcile: ${(e as Error).message}`)
      return
    }
    // Both sides learn the whole difference; only the side holding an envelope acts (it pushes),
    // so nothing crosses twice. A push lost on the way shows up again in the next round.
    if (step.have.length > 0) this.#serveDifference(link, step.have)
    if (step.need.length > 0) this.#expect(link, step.need)
    if (step.reply !== null) {
      link.control({ type: FrameType.reconcile, session, payload: step.reply })
      this.#e.pump(link)
    }
    if (step.done) {
      this.#endSession(link, weInitiated)
      if (weInitiated) this.#rangeDone(link, slot.session.range, step.splitDepth)
    }
  }

  #speaksOtherVersion (link: PeerLink, version: number): void {
    if (this.#otherVersion.has(link)) return
    this.#otherVersion.add(link)
    link.sessionsDropped()
    this.#e.deps.logger.warn({ peer: link.id, version, ours: reconcileVersion }, 'peer speaks another version of reconciliation: not reconciling with it until it reconnects')
  }

  /**
   * A session we initiated ended. If it split (the difference was too large for one
   * session, or it could not be decoded within the limits), the pass goes on range by
   * range, each range at once after the one before.
   */
  #rangeDone (link: PeerLink, range: KeyRange, splitDepth: number): void {
    let walk = this.#walks.get(link)
    if (walk === undefined) {
      if (splitDepth === 0) return
      walk = new RangeWalk()
      this.#walks.set(link, walk)
    }
    walk.finished(range, splitDepth)
    if (walk.active) this.#startReconcile(link)
  }

  /**
   * A reconciliation found ids the peer holds and we lack: it is pushing them to us. A
   * node back from a crash or a partition reconciles with every neighbour at once, and
   * each would push the same backlog. So each id is left to the cheapest link promising
   * it, and the others are told we have it (`have`), which cancels their queued copies
   * (those already on the wire still come). A promise is trusted for one reconciliation
   * interval: a push that never comes is found by the next round, from any peer.
   */
  #expect (link: PeerLink, ids: Uint8Array[]): void {
    const nowMs = this.#e.deps.clock.nowMs()
    if (this.#promised.size > promisedIdsRememberedMax) { this.#promised.clear(); this.#catchUp.forgetPromises() }
    if (this.#repairPushers.size > repairPushersRememberedMax) this.#repairPushers.clear()
    const promise = this.#catchUp.promise(link, nowMs)
    const decline = new Map<PeerLink, Uint8Array[]>()
    const declineOn = (l: PeerLink, id: Uint8Array): void => { const list = decline.get(l); if (list === undefined) decline.set(l, [id]); else list.push(id) }
    for (const id of ids) {
      const k = idKey(id)
      link.peerHolds(k, nowMs)
      const pushers = this.#repairPushers.get(k)
      if (pushers === undefined) this.#repairPushers.set(k, [link])
      else if (!pushers.includes(link)) pushers.push(link)
      if (this.#e.holds(k)) { declineOn(link, id); continue }
      const other = this.#promised.get(k)
      // A promise is trusted for an interval, or for as long as its link keeps delivering (a catch-up).
      const live = other !== undefined && other.link !== link && this.#e.peers.isCurrent(other.link) &&
        (nowMs - other.atMs < this.#e.config.reconcileIntervalMs || this.#catchUp.moving(other.link))
      if (live && other.link.costMs <= link.costMs) { declineOn(link, id); continue }
      if (live) declineOn(other.link, id)
      if (other !== undefined && other.link !== link) this.#catchUp.settled(other, false)
      if (other === undefined || other.link !== link || other.epoch !== promise.epoch) this.#catchUp.count(promise)
      this.#promised.set(k, promise)
    }
    for (const [l, list] of decline) {
      for (let i = 0; i < list.length; i += idListItemsMax) l.control({ type: FrameType.have, ids: list.slice(i, i + idListItemsMax) })
      this.#e.pump(l)
    }
  }

  #endSession (link: PeerLink, weInitiated: boolean): void { link.sessionEnded(weInitiated) }

  // ---- Sequence gaps ------------------------------------------------------------

  /**
   * A gap in one author's stream still open after the grace delay is asked for, one
   * `wantSeq` per run of missing numbers (a range spanning numbers we hold would bring
   * those again): first from the peer whose envelope revealed the gap (it lies on the
   * author's path; the cheapest ready peer if it is gone or the envelope was local), and
   * what is still missing another grace delay later from every other ready peer. Asking
   * all at once brought each missing envelope from every peer that held it.
   *
   * A stream has one check pending at a time, and gaps revealed meanwhile join it: a relay
   * catching up receives a stream out of sequence (range by range), which opened a gap,
   * and so a timer and up to 32 frames, with nearly every envelope. While the peer that
   * revealed the gap is still bringing what its reconciliation promised, the check waits
   * another grace delay: the gap is most likely on its way.
   */
  scheduleGapCheck (stream: string, channel: Uint8Array, author: Uint8Array, from: number, to: number, via: Sender): void {
    const pending = this.#gaps.get(stream)
    if (pending !== undefined) {
      pending.from = Math.min(pending.from, from)
      pending.to = Math.max(pending.to, to)
      return
    }
    if (this.#gaps.size >= gapChecksPendingMax) return // reconciliation repairs it
    this.#gaps.set(stream, { channel, author, from, to, via })
    this.#e.schedule(this.#e.config.gapGraceMs, () => { this.#checkGap(stream) })
  }

  #checkGap (stream: string): void {
    const g = this.#gaps.get(stream)
    if (g === undefined) return
    const via = g.via === 'local' ? undefined : this.#e.peers.get(g.via)
    if (via !== undefined && this.#bringing(via)) {
      this.#e.schedule(this.#e.config.gapGraceMs, () => { this.#checkGap(stream) })
      return
    }
    this.#gaps.delete(stream)
    const first = this.#askForGap(stream, g.channel, g.author, g.from, g.to, [this.#gapPeer(g.via)])
    if (first === undefined) return
    this.#e.schedule(this.#e.config.gapGraceMs, () => {
      this.#askForGap(stream, g.channel, g.author, g.from, g.to, [...this.#e.peers.values()].filter(p => p !== first))
    })
  }

  /**
   * Whether a peer is still catching us up: it is bringing what its reconciliation promised,
   * or, while that moves, a session or a range pass with it may promise more (between two
   * ranges nothing is promised for a moment).
   */
  #bringing (link: PeerLink): boolean {
    if (this.#catchUp.bringing(link)) return true
    const session = link.initiator !== undefined || link.responder !== undefined || this.#walks.get(link)?.active === true
    return session && this.#catchUp.moving(link)
  }

  /** The ready peer a gap is first asked of. */
  #gapPeer (via: Sender): PeerLink | undefined {
    const direct = via === 'local' ? undefined : this.#e.peers.get(via)
    if (direct?.ready === true) return direct
    let best: PeerLink | undefined
    for (const p of this.#e.peers.values()) if (p.ready && (best === undefined || p.costMs < best.costMs)) best = p
    return best
  }

  /** Sends `wantSeq` for what is still missing to the ready ones of `peers`; the first asked, if any was. */
  #askForGap (stream: string, channel: Uint8Array, author: Uint8Array, from: number, to: number, peers: Array<PeerLink | undefined>): PeerLink | undefined {
    const missing = this.#e.catalog.missingSeqs(stream, Math.max(from, to - idListItemsMax + 1), to, idListItemsMax)
    const ready = peers.filter((p): p is PeerLink => p?.ready === true && this.#e.peers.isCurrent(p))
    if (missing.length === 0 || ready.length === 0) return undefined
    this.#e.counters.gapRequests++
    const frames: Frame[] = seqRuns(missing, gapRunsMax).map(([seqFrom, seqTo]) => ({ type: FrameType.wantSeq, channel, author, seqFrom, seqTo }))
    for (const p of ready) {
      for (const f of frames) p.control(f)
      this.#e.pump(p)
    }
    return ready[0]
  }
}

/** A gap check waiting for its grace delay: the missing numbers revealed so far, and the way the first envelope came. */
interface GapCheck { channel: Uint8Array, author: Uint8Array, from: number, to: number, via: Sender }

/** Ascending numbers as runs of consecutive ones, [first, last] each; past `runsMax` the last run spans the rest. */
export function seqRuns (ascending: number[], runsMax: number): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  for (const q of ascending) {
    const last = runs[runs.length - 1]
    if (last !== undefined && (q === last[1] + 1 || runs.length === runsMax)) last[1] = q
    else runs.push([q, q])
  }
  return runs
}

function outEnvelope (id: Uint8Array, bytes: Uint8Array, expiresAtMs: number, key = idKey(id)): OutEnvelope {
  return { id, key, bytes, expiresAtMs }
}
