/**
 * Set reconciliation with each peer (protocol/reconcile), on link-up and periodically:
 * the peer with the smaller id initiates; a difference too large for one session goes
 * range by range (ranges.ts). What the peer lacks is owed to it (catchup.ts); what it
 * holds and we lack, it promises to push, and each id is left to the cheapest link
 * promising it. When to open a session is decided by pure functions (`initiates`,
 * `sessionDue`); timers stay with the engine.
 *
 * @example
 * reconciler.start(link)                  // on hello, and every reconcileIntervalMs
 * reconciler.heard(link, frame.session, frame.payload)
 * const repair = reconciler.promiseKept(env.key)
 */
import { idKey } from './catalog.ts'
import type { CatchUp, Promised } from './catchup.ts'
import { roundTripWaitMs } from './forwarding.ts'
import type { Links } from './links.ts'
import type { LinkOutput } from './outbound.ts'
import type { PeerLink } from './peer.ts'
import { RangeWalk } from './ranges.ts'
import type { ScopedSet } from './scoped-set.ts'
import type { Counters, EngineConfig } from './types.ts'
import { FrameType } from '../frames.ts'
import { frameBytesMin, peerPenaltyBadFrame, promisedIdsRememberedMax, reconcileSessionsPerMinuteMax, repairPushersRememberedMax } from '../limits.ts'
import type { Clock, Logger, PeerId } from '../ports.ts'
import { accept, initiate, type KeyRange, reconcile, reconcileVersion, type ReconcileStep } from '../reconcile/index.ts'

/** Bytes a reconcile frame adds around its payload (type, array, session, byte-string head). */
const reconcileFrameOverheadBytes = 16
/**
 * Reconciliation intervals a session we started may go without a message before we give it
 * up and start another: the link is reliable and ordered, so only a peer that dropped its
 * side (it speaks another version, or it hit an error) leaves one waiting, and without this
 * the link was never reconciled again. Several intervals, for a 64 KiB frame on slow radio.
 */
export const sessionIdleIntervals = 3

/** Whether we open the sessions on a link: the peer with the smaller id does, so exactly one side of each link. */
export function initiates (ourId: PeerId, peerId: PeerId): boolean { return ourId < peerId }

/**
 * Whether a session we initiate may open now: at once if none is open; if one is (`open`),
 * only once it went `sessionIdleIntervals` intervals without a message (`sinceLastMs`),
 * replacing it.
 */
export function sessionDue (open: boolean, sinceLastMs: number, reconcileIntervalMs: number): 'open' | 'replace' | 'wait' {
  if (!open) return 'open'
  return sinceLastMs < sessionIdleIntervals * reconcileIntervalMs ? 'wait' : 'replace'
}

/**
 * Whether a file is moving on a link, either way: pieces of one wait in our queue to the
 * peer, or one arrived from it within the last reconciliation interval (#23). A session
 * then would list every piece still in flight as a difference, 32 B an id: on a 9.6 kbps
 * radio carrying a 2 MB file that was a third of the link, and its large frames held
 * flash messages back. The push under way delivers those pieces; the link reconciles when
 * the file has passed (a drop empties the queue, so a link that comes back reconciles at once).
 */
export function filesMoving (queuedFileFlows: number, sinceFilePieceMs: number, reconcileIntervalMs: number): boolean {
  return queuedFileFlows > 0 || sinceFilePieceMs < reconcileIntervalMs
}

export interface ReconcilerDeps {
  config: Pick<EngineConfig, 'nodeId' | 'reconcileIntervalMs'>
  clock: Pick<Clock, 'nowMs' | 'monotonicMs'>
  counters: Pick<Counters, 'reconcileSessions'>
  logger: Logger
  /** What we hold, as reconciliation sees it, on a link to this peer (scoped-set.ts). */
  set: Pick<ScopedSet, 'forPeer'>
  links: Pick<Links, 'isCurrent' | 'ready'>
  /** Whether we hold (or are storing, or hold pending) the envelope with this id key. */
  holds (key: string): boolean
  catchUp: Pick<CatchUp, 'waits' | 'owe' | 'promise' | 'count' | 'settled' | 'moving' | 'bringing' | 'forgetPromises'>
  output: Pick<LinkOutput, 'pump' | 'penalise'>
  schedule (ms: number, fn: () => void): void
}

export class Reconciler {
  readonly #d: ReconcilerDeps
  #nextSession = 1
  /** Ids a reconciliation told us a peer is pushing to us → that link, since when (see #expect). */
  readonly #promised = new Map<string, Promised>()
  /**
   * Ids → every peer whose reconciliation said it would push them to us (the cheapest
   * keeps its promise, the others are declined but may have sent already). Their copies
   * are repair, not eager push: a duplicate among them says nothing about the push tree.
   */
  readonly #repairPushers = new Map<string, PeerLink[]>()
  /** Per link we initiate on: the range-by-range pass under way, if a session split (ranges.ts). */
  readonly #walks = new WeakMap<PeerLink, RangeWalk>()
  /** Links whose peer spoke another version of reconciliation (we cannot reconcile with it; told once). */
  readonly #otherVersion = new WeakSet<PeerLink>()

  constructor (deps: ReconcilerDeps) { this.#d = deps }

  /** Starts a session with every ready peer we initiate with (the periodic pass). */
  all (): void {
    for (const link of this.#d.links.ready()) this.start(link)
  }

  /** Starts a session on this link if we initiate there and one is due. */
  start (link: PeerLink): void {
    const d = this.#d
    if (!initiates(d.config.nodeId, link.id) || this.#otherVersion.has(link)) return
    const nowMs = d.clock.monotonicMs()
    if (filesMoving(link.queue.fileFlows, nowMs - link.filePieceInMs, d.config.reconcileIntervalMs)) return
    const due = sessionDue(link.initiator !== undefined, nowMs - link.lastReconcileMs, d.config.reconcileIntervalMs)
    if (due === 'wait') return
    if (due === 'replace') {
      d.logger.info({ peer: link.id, session: link.initiator?.id }, 'reconciliation session got no answer; starting another')
      this.#walks.get(link)?.abandon()
    }
    // While a difference found earlier is still moving, finding it again would cost bytes for nothing.
    if (d.catchUp.waits(link, this.#walks.get(link)?.active === true)) return
    const id = this.#nextSession++
    const range = this.#walks.get(link)?.next()
    const { session, message } = initiate(d.set.forPeer(link.id), { frameBytesMax: payloadMax(link), range })
    link.sessionStarted({ id, session }, nowMs)
    d.counters.reconcileSessions++
    link.control({ type: FrameType.reconcile, session: id, payload: message })
    d.output.pump(link)
  }

  /** A reconcile frame arrived on this link. */
  heard (link: PeerLink, session: number, payload: Uint8Array): void {
    const d = this.#d
    // A relay one version behind or ahead (an upgrade under way) is not misbehaving: we cannot
    // reconcile with it, so we stop trying on this link; eager push and want still work.
    if (payload.length > 0 && payload[0] !== reconcileVersion) { this.#speaksOtherVersion(link, payload[0]); return }
    const weInitiated = initiates(d.config.nodeId, link.id)
    let slot = weInitiated ? link.initiator : link.responder
    if (!weInitiated && slot?.id !== session) {
      if (!link.sessionOpened(d.clock.monotonicMs())) {
        d.output.penalise(link, peerPenaltyBadFrame, `opens reconciliation sessions faster than ${reconcileSessionsPerMinuteMax} a minute`)
        return
      }
      slot = { id: session, session: accept(d.set.forPeer(link.id), { frameBytesMax: payloadMax(link) }) }
      link.responding(slot)
    }
    if (slot === undefined || slot.id !== session) return // a stale session's late reply
    if (weInitiated) link.sessionHeard(d.clock.monotonicMs())
    let step: ReconcileStep
    try {
      step = reconcile(slot.session, payload)
    } catch (e) {
      // Only junk and lies throw here (undecodable bytes, a declared size past a limit, a key
      // decoded twice, unasked-for answers): a difference too large for one session, or a
      // limit reached in honest progress, ends the session with SPLIT or ABORT instead.
      link.sessionEnded(weInitiated)
      this.#walks.get(link)?.abandon()
      d.output.penalise(link, peerPenaltyBadFrame, `reconcile: ${(e as Error).message}`)
      return
    }
    // Both sides learn the whole difference; only the side holding an envelope acts (it pushes),
    // so nothing crosses twice. A push lost on the way shows up again in the next round.
    if (step.have.length > 0) this.#serveDifference(link, step.have)
    if (step.need.length > 0) this.#expect(link, step.need)
    if (step.reply !== null) {
      link.control({ type: FrameType.reconcile, session, payload: step.reply })
      d.output.pump(link)
    }
    if (step.done) {
      link.sessionEnded(weInitiated)
      if (weInitiated) this.#rangeDone(link, slot.session.range, step.splitDepth)
    }
  }

  #speaksOtherVersion (link: PeerLink, version: number): void {
    if (this.#otherVersion.has(link)) return
    this.#otherVersion.add(link)
    link.sessionsDropped()
    this.#d.logger.warn({ peer: link.id, version, ours: reconcileVersion }, 'peer speaks another version of reconciliation: not reconciling with it until it reconnects')
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
    if (walk.active) this.start(link)
  }

  /**
   * Pushes what a reconciliation found the peer lacking, at its link's pace (catchup.ts). A
   * peer with other neighbours may be learning the same ids from them (a node back from a
   * crash reconciles with all at once): wait one round trip, so that its `have` for the ids
   * it leaves to another link (see #expect) arrives before our copies leave.
   */
  #serveDifference (link: PeerLink, ids: Uint8Array[]): void {
    const d = this.#d
    if (link.neighbours.size <= 1) { d.catchUp.owe(link, ids); return }
    d.schedule(roundTripWaitMs(link.costMs), () => { if (d.links.isCurrent(link)) d.catchUp.owe(link, ids) })
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
    const d = this.#d
    const nowMs = d.clock.nowMs()
    if (this.#promised.size > promisedIdsRememberedMax) { this.#promised.clear(); d.catchUp.forgetPromises() }
    if (this.#repairPushers.size > repairPushersRememberedMax) this.#repairPushers.clear()
    const promise = d.catchUp.promise(link, nowMs)
    const decline = new Map<PeerLink, Uint8Array[]>()
    const declineOn = (l: PeerLink, id: Uint8Array): void => { const list = decline.get(l); if (list === undefined) decline.set(l, [id]); else list.push(id) }
    for (const id of ids) {
      const k = idKey(id)
      link.peerHolds(k, nowMs)
      const pushers = this.#repairPushers.get(k)
      if (pushers === undefined) this.#repairPushers.set(k, [link])
      else if (!pushers.includes(link)) pushers.push(link)
      if (d.holds(k)) { declineOn(link, id); continue }
      const other = this.#promised.get(k)
      // A promise is trusted for an interval, or for as long as its link keeps delivering (a catch-up).
      const live = other !== undefined && other.link !== link && d.links.isCurrent(other.link) &&
        (nowMs - other.atMs < d.config.reconcileIntervalMs || d.catchUp.moving(other.link))
      if (live && other.link.costMs <= link.costMs) { declineOn(link, id); continue }
      if (live) declineOn(other.link, id)
      if (other !== undefined && other.link !== link) d.catchUp.settled(other, false)
      if (other === undefined || other.link !== link || other.epoch !== promise.epoch) d.catchUp.count(promise)
      this.#promised.set(k, promise)
    }
    for (const [l, list] of decline) {
      l.controlIds(FrameType.have, list)
      d.output.pump(l)
    }
  }

  /**
   * The peer whose reconciliation promised this id, if `link`, which brought it first,
   * promised nothing of it (it pushed it eagerly) and the promised copy is still to come.
   * Two bridges of a partition healing a moment apart do this (#26): the first bridge's
   * catch-up floods one side, and the second bridge's, listed a moment later, sends the
   * same envelopes in the same order, each just behind the flood's copy.
   */
  promisedElsewhere (key: string, link: PeerLink): PeerLink | undefined {
    const promise = this.#promised.size > 0 ? this.#promised.get(key) : undefined
    if (promise === undefined || promise.link === link || !this.#d.links.isCurrent(promise.link)) return undefined
    return this.#repairPushers.get(key)?.includes(link) === true ? undefined : promise.link
  }

  /** An envelope arrived: if a reconciliation promised it, that promise is kept. True if so (its copy is repair). */
  promiseKept (key: string): boolean {
    const promise = this.#promised.size > 0 ? this.#promised.get(key) : undefined
    if (promise === undefined) return false
    this.#promised.delete(key)
    this.#d.catchUp.settled(promise, true)
    return true
  }

  /**
   * Whether a duplicate from this link was a reconciliation's repair push (each such copy
   * is counted once). After a partition heals, a holder's repair push often arrives second
   * (it waits a round trip) though its link is the shortest path: it must not be pruned.
   */
  repairCopy (link: PeerLink, key: string): boolean {
    const pushers = this.#repairPushers.size > 0 ? this.#repairPushers.get(key) : undefined
    if (pushers?.includes(link) !== true) return false
    if (pushers.length === 1) this.#repairPushers.delete(key)
    else pushers.splice(pushers.indexOf(link), 1)
    return true
  }

  /**
   * Whether a peer is still catching us up: it is bringing what its reconciliation promised,
   * or, while that moves, a session or a range pass with it may promise more (between two
   * ranges nothing is promised for a moment).
   */
  bringing (link: PeerLink): boolean {
    if (this.#d.catchUp.bringing(link)) return true
    const session = link.initiator !== undefined || link.responder !== undefined || this.#walks.get(link)?.active === true
    return session && this.#d.catchUp.moving(link)
  }
}

function payloadMax (link: PeerLink): number {
  return Math.max(frameBytesMin, link.frameBytesMax - reconcileFrameOverheadBytes)
}
