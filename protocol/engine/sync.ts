/**
 * The engine's conversation with peers beyond single envelopes: the hello handshake and
 * neighbour lists here; eager push, announcements, prunes and grafts (push.ts); set
 * reconciliation (reconciler.ts) and the catch-up it feeds (catchup.ts); sequence-gap
 * repair (gaps.ts). This file routes each control frame to its part and composes them;
 * each part names what it needs in its own deps type.
 *
 * @example
 * const sync = new SyncHandlers(deps)
 * sync.handle(link, frame)          // every frame but envelopes
 * sync.forward(env, from, repair)   // a new envelope
 */
import type { Boundary } from './boundary.ts'
import { CatchUp } from './catchup.ts'
import { idFromKey, idKey, type Catalog } from './catalog.ts'
import { Declined } from './declined.ts'
import { askForFilePieces, GapRepair } from './gaps.ts'
import type { Links } from './links.ts'
import type { MessageLog } from './log.ts'
import type { LinkOutput } from './outbound.ts'
import type { PeerLink } from './peer.ts'
import { EagerPush } from './push.ts'
import { Reconciler } from './reconciler.ts'
import type { ScopedSet } from './scoped-set.ts'
import { streamChannelKey, streamKey } from './stream-key.ts'
import type { Counters, EngineConfig, PeerAdmission, Sender } from './types.ts'
import type { Envelope } from '../envelope.ts'
import { FrameType, frameText, linkVersion, type Frame } from '../frames.ts'
import { admissionByeGraceMs, peerPenaltyBadFrame } from '../limits.ts'
import type { Clock, Logger, PeerId, StoreOp, Transport } from '../ports.ts'

export interface SyncDeps {
  config: EngineConfig
  /** How our neighbours name us in their neighbour lists. */
  refKey: string
  clock: Pick<Clock, 'nowMs' | 'monotonicMs'>
  networkNowMs (): number
  /** A peer's clock offset now counts towards network time. */
  peersChanged (): void
  counters: Counters
  logger: Logger
  transport: Pick<Transport, 'disconnect'>
  links: Pick<Links, 'get' | 'isCurrent' | 'values' | 'ready' | 'forget'>
  catalog: Pick<Catalog, 'get' | 'authors' | 'idsInSeqRange' | 'missingSeqs' | 'incompleteFiles'>
  log: Pick<MessageLog, 'get' | 'lazyOp'>
  set: ScopedSet
  holds (key: string): boolean
  write (ops: StoreOp[]): Promise<void>
  output: LinkOutput
  schedule (ms: number, fn: () => void): void
  /** Decides on what a peer presented in its hello (#29); absent: every peer is let in. */
  admission?: Pick<PeerAdmission, 'admit'>
  /** The boundary between organisations (#29): hears refusals made at it or further on. */
  boundary?: Pick<Boundary, 'heardRefusal' | 'crosses'>
}

export class SyncHandlers {
  readonly #d: SyncDeps
  readonly #push: EagerPush
  readonly #reconciler: Reconciler
  /** What each peer is owed and has promised, moving at its link's pace. */
  readonly #catchUp: CatchUp
  readonly #gaps: GapRepair
  /** What peers said they do not carry, kept out of their reconciliation for a while. */
  readonly #declined: Declined

  constructor (deps: SyncDeps) {
    this.#d = deps
    const declined = this.#declined = new Declined({
      scope: deps.set,
      holds: deps.holds,
      channelOf: key => { const e = deps.catalog.get(key); return e === undefined ? undefined : streamChannelKey(e.stream) },
    })
    this.#catchUp = new CatchUp({ ...deps, resume: link => { this.#reconciler.start(link) } })
    this.#reconciler = new Reconciler({ ...deps, catchUp: this.#catchUp })
    const boundary = deps.boundary
    const declines = (peer: PeerId, channel: string): boolean => declined.declines(peer, channel, deps.clock.monotonicMs())
    this.#push = new EagerPush(boundary === undefined ? { ...deps, declines } : { ...deps, declines, acrossBoundary: link => boundary.crosses(link) })
    this.#gaps = new GapRepair({ ...deps, bringing: link => this.#reconciler.bringing(link) })
  }

  /** Feeds owed envelopes to a link whose queue drained (called after each pump). */
  refill (link: PeerLink): void { this.#catchUp.refill(link) }

  handle (link: PeerLink, frame: Frame): void {
    switch (frame.type) {
      case FrameType.hello: return this.#hello(link, frame)
      case FrameType.neighbours:
        link.heardNeighbours(frame.neighbours.map(n => [idKey(n.ref), n.costMs]))
        return
      case FrameType.have: return this.#push.heardHave(link, frame.ids)
      case FrameType.want: return this.#push.serve(link, frame.ids, true)
      case FrameType.prune: return this.#push.heardPrune(link, frame.author)
      case FrameType.graft: return this.#push.heardGraft(link, frame.author)
      case FrameType.reconcile: return this.#reconciler.heard(link, frame.session, frame.payload)
      case FrameType.wantSeq:
        return this.#push.serve(link, this.#d.catalog.idsInSeqRange(streamKey(frame), frame.seqFrom, frame.seqTo).map(idFromKey))
      case FrameType.bye:
        // A peer that refused us at hello (#29) says why: the operator must read it to mend it.
        if (frame.code === 'ERR_UNAUTHORISED') { this.#d.logger.warn({ peer: link.id, reason: frame.reason }, 'peer refused this relay'); return }
        this.#d.logger.info({ peer: link.id, frame: frame.type, code: frame.code }, 'peer notice')
        return
      case FrameType.refused:
        if (frame.code === 'ERR_POLICY' && this.#d.boundary !== undefined) { this.#d.boundary.heardRefusal(link, frame.ids, frame.reason ?? 'no reason given'); return }
        if (frame.code === 'ERR_UNAUTHORISED' || frame.code === 'ERR_NOT_CARRIED') { this.#declinedBy(link, frame.ids, frame.code === 'ERR_NOT_CARRIED'); return }
        this.#d.logger.info({ peer: link.id, frame: frame.type, code: frame.code }, 'peer notice')
    }
  }

  #hello (link: PeerLink, frame: Extract<Frame, { type: typeof FrameType.hello }>): void {
    const d = this.#d
    if (link.ready) { d.output.penalise(link, peerPenaltyBadFrame, 'second hello'); return }
    if (linkVersion < frame.versionMin || linkVersion > frame.versionMax) {
      link.control({ type: FrameType.bye, code: 'ERR_PROTOCOL', reason: `we speak link version ${linkVersion}` })
      d.output.pump(link)
      d.links.forget(link.id)
      d.transport.disconnect(link.id, `no common link version (peer ${frame.versionMin}..${frame.versionMax})`)
      return
    }
    const admitted = d.admission?.admit(link.id, frame.credentials) ?? { ok: true }
    if (!admitted.ok) { this.#turnAway(link, admitted.reason); return }
    link.heardHello(frame.nowMs, d.clock.nowMs(), frame.frameBytesMax)
    this.#declined.forgetPeer(link.id) // it may carry more since we last met: offer everything again
    d.peersChanged()
    this.advertiseNeighbours()
    // Reconciled first: what was posted while the link was down is found now, whichever side
    // initiates. Files cut off by a drop are then asked for by number, and what they bring
    // holds the periodic sessions back until they have passed (filesMoving). Asked first, they
    // held this session back too when we initiate: posts from the drop waited for the file (#26).
    this.#reconciler.start(link)
    if (askForFilePieces(link, d.catalog)) {
      d.counters.gapRequests++
      link.filePieceArrived(d.clock.monotonicMs())
      d.output.pump(link)
    }
  }

  /**
   * Ends a link whose peer the admission refused: told why (`bye`), then cut. The link is
   * forgotten at once, so nothing the peer sends counts; the cut waits `admissionByeGraceMs`
   * so the bye can arrive (a cut drops what is in flight) and the refused relay's operator
   * reads the reason. No score is charged: an honest relay whose certificate expired or
   * whose organisation was cut off is not misbehaving, and the host keeps it away while its
   * backoff lasts.
   */
  #turnAway (link: PeerLink, reason: string): void {
    const d = this.#d
    link.control({ type: FrameType.bye, code: 'ERR_UNAUTHORISED', reason: frameText(reason) })
    d.output.pump(link)
    d.links.forget(link.id)
    d.schedule(admissionByeGraceMs, () => {
      if (d.links.get(link.id)?.ready === true) return // it came back meanwhile and was let in (the trust store changed)
      d.transport.disconnect(link.id, `not admitted: ${reason}`)
    })
  }

  /** Tells every ready peer who our ready neighbours are. */
  advertiseNeighbours (): void {
    const neighbours = [...this.#d.links.ready()].map(p => ({ ref: idFromKey(p.refKey), costMs: Math.round(p.costMs) }))
    for (const p of this.#d.links.ready()) {
      p.control({ type: FrameType.neighbours, neighbours })
      this.#d.output.pump(p)
    }
  }

  /** Pushes or announces a newly stored envelope to the peers that need it (push.ts). */
  forward (env: Envelope, from: Sender, repair = false): void {
    this.#declined.stored(env.key, streamChannelKey(env.stream), this.#d.clock.monotonicMs())
    this.#push.forward(env, from, repair)
  }

  /**
   * An envelope we lacked arrived from `link`: keeps the promise a reconciliation made for
   * it, and may graft a faster announcer (push.ts). True if it was a reconciliation's repair.
   */
  arrived (link: PeerLink, env: Envelope): boolean {
    // An eager copy beat a promised one. The promiser is told we have it (its copy, if not
    // sent yet, is cancelled), and the eager sender is asked to announce this author instead,
    // as a duplicate from it would have: the promiser's catch-up is bringing the backlog.
    const promiser = this.#reconciler.promisedElsewhere(env.key, link)
    if (promiser !== undefined) {
      this.#push.announce(promiser, env.id)
      this.#push.pruneAfterDuplicate(link, env.author)
    }
    const repair = this.#reconciler.promiseKept(env.key)
    this.#push.arrived(link, env)
    return repair
  }

  /**
   * A peer pushed us a copy we hold: unless it was a reconciliation's repair push, ask it to
   * announce this author's envelopes instead (prune).
   */
  pruneAfterDuplicate (link: PeerLink, author: Uint8Array, key: string): void {
    if (this.#reconciler.repairCopy(link, key)) return
    this.#push.pruneAfterDuplicate(link, author)
  }

  /** An envelope revealed numbers missing in its stream (gaps.ts). */
  scheduleGapCheck (stream: string, channel: Uint8Array, author: Uint8Array, from: number, to: number, via: Sender): void {
    this.#gaps.check(stream, channel, author, from, to, via)
  }

  /** The periodic pass: a session with every ready peer we initiate with. */
  reconcileAll (): void {
    this.#declined.sweep(this.#d.clock.monotonicMs())
    this.#reconciler.all()
  }

  /**
   * The peer does not carry these (ERR_UNAUTHORISED), or anything of their channels
   * (ERR_NOT_CARRIED): cancel copies queued to it, and leave them out of its reconciliation.
   */
  #declinedBy (link: PeerLink, ids: Uint8Array[], wholeChannel: boolean): void {
    const nowMs = this.#d.clock.nowMs()
    for (const id of ids) link.peerHolds(idKey(id), nowMs)
    this.#declined.heard(link.id, ids, this.#d.clock.monotonicMs(), wholeChannel)
  }
}
