/**
 * One link to one peer, as the engine sees it: handshake state, score, the
 * peer's advertised neighbours, reconciliation sessions, and the outbound path —
 * control frames first, then envelopes by precedence — paced by the transport's
 * back-pressure (`send` returning false until the host calls `drain`).
 *
 * Every field is read-only from outside: the link's state changes only through the
 * named transitions below (`heardHello`, `measured`, `drained`, `setLazy`,
 * `sessionStarted`, `enqueue`, `pump`, …).
 *
 * @example
 * const link = new PeerLink('relay-b', refKey, { latencyMs: 40 }, queueBytesMax, links.memoryOf('relay-b'))
 * link.control(helloFrame); link.pump(transport, counters, nowMs, networkNowMs)
 * link.heardHello(hello.nowMs, nowMs, hello.frameBytesMax)   // ready
 */
import { ServeBacklog } from './backlog.ts'
import { clockOffsetMs, helloSkewMs } from './network-time.ts'
import { PrecedenceQueue, sharedFlow } from './queue.ts'
import { idKey } from './catalog.ts'
import { Kind, type Envelope } from '../envelope.ts'
import { acceptedPieceFileId } from '../files/piece.ts'
import { scoreAt, type PeerMemory } from './peer-memory.ts'
import { SentLog } from './sent-log.ts'
import { encodeFrame, FrameType, type Frame } from '../frames.ts'
import { TokenBucket } from '../token-bucket.ts'
import { announcedIdsPerSecondMax, controlQueueBytesMax, frameBytesMax as linkFrameBytesMax, frameBytesMin, idListItemsMax, lazyAuthorsPerPeerMax, reconcileSessionsPerMinuteMax, untimelyIdsRememberedMax } from '../limits.ts'
import type { LinkInfo, PeerId, Transport } from '../ports.ts'
import type { ReconcileSession } from '../reconcile/index.ts'
import type { Counters } from './types.ts'

/** The queue flow of an envelope: its file's id for a file piece (#23), else the shared flow. */
export function flowOf (env: Pick<Envelope, 'kind' | 'deps' | 'id'>): string {
  if (env.kind !== Kind.file) return sharedFlow
  return idKey(acceptedPieceFileId(env))
}

export interface OutEnvelope {
  id: Uint8Array
  key: string
  /**
   * The envelope's bytes. Its frame is built as it leaves (a transient buffer the
   * transport takes at once): a frame built at queueing time would sit in the queue, and
   * on a slow link a long queue of transient buffers pins their slabs.
   */
  bytes: Uint8Array
  /** When the envelope expires (its author's clock, compared with our network time): not sent after. */
  expiresAtMs: number
  /** Fed from `backlog`: if the queue drops it on overflow, it is owed again. */
  owed?: boolean
  /** Its flow in the queue (`flowOf`): a file's pieces take turns with other traffic of their precedence. */
  flow?: string
}

/** A reconciliation session on a link: its number there, and its state. */
export interface SessionSlot { id: number, session: ReconcileSession }

/** Typical envelope size used to turn bandwidth into a per-hop cost, bytes. */
const typicalEnvelopeBytes = 300

/** One hop's cost: latency plus a typical envelope's serialisation (1 ms when the bandwidth is unknown), ms. */
export function linkCostMs (latencyMs: number, bandwidthBitsPerSecond: number | undefined): number {
  return latencyMs + (bandwidthBitsPerSecond !== undefined ? typicalEnvelopeBytes * 8000 / bandwidthBitsPerSecond : 1)
}

/** A host's latency if it is a finite number ≥ 0, else the fallback. */
function latencyOr (value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback
}

/** A host's bandwidth if it is a finite number > 0, else the fallback. */
function bandwidthOr (value: number | undefined, fallback: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback
}

export class PeerLink {
  readonly id: PeerId
  readonly refKey: string
  /** Envelopes waiting for the link, by precedence (read its depths and bytes; `enqueue` and `pump` change it). */
  readonly queue: PrecedenceQueue<OutEnvelope>
  /** Ids a reconciliation found the peer lacking, not yet queued: fed to the queue as it drains (catchup.ts). */
  readonly backlog = new ServeBacklog()
  readonly #control: Uint8Array[] = []
  #controlBytes = 0
  #unread = false
  #ready = false
  #blocked = false
  /** Score and push-tree state, shared with this peer's earlier and later links. */
  readonly #memory: PeerMemory
  /** When this link's peer last opened reconciliation sessions with us (monotonic ms, within the last minute). */
  readonly #sessionStarts: number[] = []
  /** Bounds the ids this peer may announce to us per second; created at the first announcement. */
  #announcements: TokenBucket | undefined
  /** Ids of untimely envelopes this peer sent us, oldest first (bounded: each is penalised once). */
  readonly #untimely = new Set<string>()
  #frameBytesMax: number
  #costMs: number
  #neighbours: ReadonlyMap<string, number> = new Map()
  /**
   * Ids queued to this peer → the queued item (an id is queued once). An item in the queue
   * that is not here any more was cancelled (the peer said it has it) and is skipped.
   */
  readonly #queued = new Map<string, OutEnvelope>()
  /** Ids the peer has or is about to have: handed to the transport on this link, or announced by the peer. */
  readonly #sent = new SentLog()
  /** Ids to announce to this peer in the next `have` frame (a flush is scheduled while there are any). */
  #haves: Uint8Array[] = []
  #initiator: SessionSlot | undefined
  #responder: SessionSlot | undefined
  #lastReconcileMs = -Infinity
  #readyAtMs = Infinity
  #filePieceInMs = -Infinity
  /** The peer's clock minus ours as its hello arrived, whole ms (see network-time.ts). */
  #helloSkewMs = 0
  #latencyMs: number
  #latencyKnown: boolean
  #bandwidthBitsPerSecond: number | undefined

  /** A link as the host reported it at link-up (figures `info` lacks, or gives invalid, are unknown). */
  constructor (id: PeerId, refKey: string, info: LinkInfo, queueBytesMax: number, memory: PeerMemory) {
    this.id = id
    this.refKey = refKey
    this.#memory = memory
    this.#frameBytesMax = Math.min(linkFrameBytesMax, info.frameBytesMax ?? linkFrameBytesMax)
    this.#latencyMs = latencyOr(info.latencyMs, 0)
    this.#latencyKnown = this.#latencyMs === info.latencyMs
    this.#bandwidthBitsPerSecond = bandwidthOr(info.bandwidthBitsPerSecond, undefined)
    this.#costMs = linkCostMs(this.#latencyMs, this.#bandwidthBitsPerSecond)
    this.queue = new PrecedenceQueue(queueBytesMax)
  }

  /** The peer's hello arrived. */
  get ready (): boolean { return this.#ready }
  /** The transport pushed back: nothing more goes out until `drained`. */
  get blocked (): boolean { return this.#blocked }
  /** A control frame would have taken the queue past `controlQueueBytesMax`: the peer does not read. */
  get unread (): boolean { return this.#unread }
  /** The largest frame for this link: ours, then the smaller of ours and the peer's once it said hello. */
  get frameBytesMax (): number { return this.#frameBytesMax }
  /** Our estimated one-hop cost to this peer (latency plus serialisation of a typical envelope), ms. */
  get costMs (): number { return this.#costMs }
  /** The link's one-way latency, when the host knows it (its hello was stamped this long before it arrived), ms. */
  get latencyMs (): number { return this.#latencyMs }
  /** Whether the host told or measured `latencyMs` (else it is an assumed 0). */
  get latencyKnown (): boolean { return this.#latencyKnown }
  /** The link's nominal bandwidth, when the host knows it, bits per second. */
  get bandwidthBitsPerSecond (): number | undefined { return this.#bandwidthBitsPerSecond }
  /** What the peer advertised: its neighbours (by ref key) and its cost to each, ms. */
  get neighbours (): ReadonlyMap<string, number> { return this.#neighbours }
  /** Authors (ref keys) whose envelopes this peer asked us to announce rather than push. Kept across reconnects. */
  get lazyAuthors (): ReadonlySet<string> { return this.#memory.lazyAuthors }
  /** The reconciliation session we opened on this link, while it is open. */
  get initiator (): SessionSlot | undefined { return this.#initiator }
  /** The session the peer opened, while it is open. */
  get responder (): SessionSlot | undefined { return this.#responder }
  /** When our session on this link last started or heard from the peer (monotonic ms). */
  get lastReconcileMs (): number { return this.#lastReconcileMs }
  /** When the peer's hello arrived (our clock), ms; Infinity before. */
  get readyAtMs (): number { return this.#readyAtMs }
  /** The peer's clock minus ours, whole ms: its hello's skew corrected by the link's latency (its contribution to network time). */
  get clockOffsetMs (): number { return clockOffsetMs(this.#helloSkewMs, this.#latencyMs) }

  // ---- Handshake and measurement ----------------------------------------------------

  /**
   * The peer's hello arrived (its clock read `peerNowMs`, ours `ourNowMs`; it takes frames
   * up to `peerFrameBytesMax`): the link is ready.
   */
  heardHello (peerNowMs: number, ourNowMs: number, peerFrameBytesMax: number): void {
    this.#ready = true
    this.#readyAtMs = ourNowMs
    this.#helloSkewMs = helloSkewMs(peerNowMs, ourNowMs)
    this.#frameBytesMax = Math.max(frameBytesMin, Math.min(this.#frameBytesMax, peerFrameBytesMax))
  }

  /**
   * The host measured the link: its latency, bandwidth and cost change, and with the
   * latency its clock offset. Unknown or invalid figures leave the old ones.
   */
  measured (info: LinkInfo): void {
    const latencyMs = latencyOr(info.latencyMs, this.#latencyMs)
    this.#bandwidthBitsPerSecond = bandwidthOr(info.bandwidthBitsPerSecond, this.#bandwidthBitsPerSecond)
    this.#latencyMs = latencyMs
    this.#latencyKnown ||= latencyMs === info.latencyMs
    this.#costMs = linkCostMs(latencyMs, this.#bandwidthBitsPerSecond)
  }

  /** The transport can take frames again. */
  drained (): void { this.#blocked = false }

  /** The peer advertised its neighbours (ref key → its cost to each, ms). */
  heardNeighbours (neighbours: Iterable<[string, number]>): void { this.#neighbours = new Map(neighbours) }

  // ---- Score ------------------------------------------------------------------------

  /** The score now: what it was at the last penalty plus what it won back since (up to the initial score). */
  scoreAt (monotonicMs: number): number {
    return scoreAt(this.#memory, monotonicMs)
  }

  /** Takes `points` off the score as of now; returns the new score. */
  penalise (points: number, monotonicMs: number): number {
    this.#memory.score = this.scoreAt(monotonicMs) - points
    this.#memory.scoredAtMs = monotonicMs
    return this.#memory.score
  }

  /** The peer announces `count` ids (`have`): false past `announcedIdsPerSecondMax` (the frame is then dropped). */
  announcing (count: number, monotonicMs: number): boolean {
    this.#announcements ??= new TokenBucket(announcedIdsPerSecondMax, 2 * announcedIdsPerSecondMax, monotonicMs)
    return this.#announcements.take(count, monotonicMs)
  }

  /**
   * The peer opened a reconciliation session with us: false if that is more than
   * `reconcileSessionsPerMinuteMax` in the last minute (the caller charges it).
   */
  sessionOpened (monotonicMs: number): boolean {
    const starts = this.#sessionStarts
    while (starts.length > 0 && monotonicMs - starts[0] >= 60_000) starts.shift()
    if (starts.length >= reconcileSessionsPerMinuteMax) return false
    starts.push(monotonicMs)
    return true
  }

  /** Records an untimely envelope from this peer; true the first time (within the last `untimelyIdsRememberedMax`). */
  firstUntimely (key: string): boolean {
    if (this.#untimely.has(key)) return false
    this.#untimely.add(key)
    if (this.#untimely.size > untimelyIdsRememberedMax) this.#untimely.delete(this.#untimely.values().next().value as string)
    return true
  }

  // ---- Push-tree state (push.ts), kept in the peer's memory across links --------------

  /** Whether we announce `author`'s envelopes to this peer rather than push them. */
  isLazy (author: string): boolean { return this.#memory.lazyAuthors.has(author) }

  /** The peer asked us to announce (`lazy`) or to push `author`'s envelopes; false if it was so already. */
  setLazy (author: string, lazy: boolean): boolean {
    const authors = this.#memory.lazyAuthors
    if (authors.has(author) === lazy) return false
    if (lazy) authors.add(author)
    else authors.delete(author)
    return true
  }

  /** When we last asked this peer to stop pushing `author` (ms), if we did. */
  prunedAt (author: string): number | undefined { return this.#memory.prunedByUs.get(author) }

  /** We ask this peer to stop pushing `author`, now. */
  pruning (author: string, nowMs: number): void { this.#memory.prunedByUs.set(author, nowMs) }

  /** Whether the peer asked us (`want`) for an envelope of `author`: we push it that author's envelopes ourselves. */
  asked (author: string): boolean { return this.#memory.askedAuthors.has(author) }

  /** The peer asked us for an envelope of `author` (at most `lazyAuthorsPerPeerMax` are remembered). */
  askedFor (author: string): void {
    if (this.#memory.askedAuthors.size < lazyAuthorsPerPeerMax) this.#memory.askedAuthors.add(author)
  }

  /** Whether the peer pruned an author whose envelopes reached us from `upstream`. */
  prunedUpstream (upstream: string): boolean { return this.#memory.prunedUpstreams.has(upstream) }

  /** The peer pruned (`pruned`) or grafted an author whose envelopes reach us from `upstream`. */
  upstreamPruned (upstream: string, pruned: boolean): void {
    if (pruned) this.#memory.prunedUpstreams.add(upstream)
    else this.#memory.prunedUpstreams.delete(upstream)
  }

  /** Adds an id to the next `have` frame; true if it is the first since the last flush (schedule one). */
  announce (id: Uint8Array): boolean {
    this.#haves.push(id)
    return this.#haves.length === 1
  }

  /** Takes the ids to announce (the flush). */
  takeAnnouncements (): Uint8Array[] {
    const ids = this.#haves
    this.#haves = []
    return ids
  }

  // ---- Reconciliation sessions (reconciler.ts) ----------------------------------------

  /** A file piece arrived from this peer (it is pushing us a file: reconciling now would find the rest of it in flight). */
  filePieceArrived (monotonicMs: number): void { this.#filePieceInMs = monotonicMs }

  /** When a file piece last arrived from this peer (monotonic ms; -Infinity if never). */
  get filePieceInMs (): number { return this.#filePieceInMs }

  /** We opened a session on this link. */
  sessionStarted (slot: SessionSlot, monotonicMs: number): void {
    this.#lastReconcileMs = monotonicMs
    this.#initiator = slot
  }

  /** The peer answered our session: it is alive. */
  sessionHeard (monotonicMs: number): void { this.#lastReconcileMs = monotonicMs }

  /** The peer opened a session, answered in this slot. */
  responding (slot: SessionSlot): void { this.#responder = slot }

  /** A session ended: ours (`weInitiated`) or the peer's. */
  sessionEnded (weInitiated: boolean): void {
    if (weInitiated) this.#initiator = undefined
    else this.#responder = undefined
  }

  /** Both sessions dropped: the peer speaks another version of reconciliation. */
  sessionsDropped (): void {
    this.#initiator = undefined
    this.#responder = undefined
  }

  // ---- The outbound path ------------------------------------------------------------

  /** Whether `key` went out on this link recently enough that it is still on its way or was just received. */
  sentRecently (key: string, nowMs: number): boolean { return this.#sent.recently(key, nowMs) }

  /** Whether `key` waits in this link's queue. */
  isQueued (key: string): boolean { return this.#queued.has(key) }

  /** Queues an envelope unless it is already queued or was just sent; `force` re-sends anyway (the peer asked for it). */
  enqueue (precedence: number, item: OutEnvelope, force: boolean, nowMs: number): boolean {
    if (this.#queued.has(item.key) || (!force && this.sentRecently(item.key, nowMs))) return false
    this.#queued.set(item.key, item)
    for (const dropped of this.queue.push(precedence, item, item.bytes.length, item.flow)) {
      if (this.#queued.get(dropped.key) !== dropped) continue
      this.#queued.delete(dropped.key)
      if (dropped.owed === true) this.backlog.putBack(dropped.key)
    }
    return true
  }

  /** Nothing waits on this link (not blocked, no frame queued): an envelope offered now may skip the queue. */
  get idle (): boolean { return !this.#blocked && this.#control.length === 0 && this.queue.length === 0 }

  /**
   * Hands one envelope to the transport at once, as `pump` would have done had it been
   * queued (call only when `idle`): 'sent'; 'expired' if it would arrive expired (counted,
   * dropped); 'blocked' if the transport pushed back (the link is now blocked: queue it).
   * On an idle link, the usual case, an envelope then costs no queue entry.
   */
  sendNow (item: OutEnvelope, transport: Transport, counters: Counters, nowMs: number, networkNowMs: number): 'sent' | 'expired' | 'blocked' {
    if (this.#wouldArriveExpired(item, networkNowMs)) { counters.expiredUnsent++; return 'expired' }
    if (!this.#transmit(item, transport, counters, nowMs)) return 'blocked'
    this.#sent.forget(nowMs)
    return 'sent'
  }

  /** The peer has (or is about to get) this id: cancel our queued copy, and send none for `resendAfterMs`. */
  peerHolds (key: string, nowMs: number): void {
    this.#queued.delete(key)
    this.backlog.delete(key)
    this.#sent.remember(key, nowMs)
    this.#sent.forget(nowMs)
  }

  /**
   * Queues a control frame ahead of every envelope. Past `controlQueueBytesMax` the frame is
   * dropped and `unread` set: the engine cuts a peer that lets its replies pile up.
   */
  control (frame: Frame): void {
    const bytes = encodeFrame(frame)
    if (this.#controlBytes + bytes.length > controlQueueBytesMax) { this.#unread = true; return }
    this.#control.push(bytes)
    this.#controlBytes += bytes.length
  }

  /** Queues `ids` as `have` or `want` control frames, at most `idListItemsMax` to a frame. */
  controlIds (type: typeof FrameType.have | typeof FrameType.want, ids: Uint8Array[]): void {
    for (let i = 0; i < ids.length; i += idListItemsMax) this.control({ type, ids: ids.slice(i, i + idListItemsMax) })
  }

  /**
   * Hands frames to the transport until it pushes back. Returns the envelopes sent.
   * Envelopes that expired while queued (a slow link's backlog), or would before they
   * arrive (`costMs` away), are dropped: the peer would refuse them and count each
   * against our score.
   */
  pump (transport: Transport, counters: Counters, nowMs: number, networkNowMs: number): OutEnvelope[] {
    const sent: OutEnvelope[] = []
    if (this.#blocked) return sent
    while (this.#control.length > 0) {
      const frame = this.#control[0]
      if (!transport.send(this.id, frame)) { this.#blocked = true; return sent }
      this.#control.shift()
      this.#controlBytes -= frame.length
      count(counters, frame)
    }
    for (;;) {
      const item = this.queue.peek()
      if (item === undefined) break
      if (this.#queued.get(item.key) !== item) { this.queue.shift(); continue } // cancelled
      if (this.#wouldArriveExpired(item, networkNowMs)) {
        this.queue.shift()
        this.#queued.delete(item.key)
        counters.expiredUnsent++
        continue
      }
      if (!this.#transmit(item, transport, counters, nowMs)) break
      this.queue.shift()
      this.#queued.delete(item.key)
      sent.push(item)
    }
    if (sent.length > 0) this.#sent.forget(nowMs)
    return sent
  }

  #wouldArriveExpired (item: OutEnvelope, networkNowMs: number): boolean { return item.expiresAtMs <= networkNowMs + this.#costMs }

  /** Frames an envelope and hands it to the transport; false (and blocked) if it pushed back. */
  #transmit (item: OutEnvelope, transport: Transport, counters: Counters, nowMs: number): boolean {
    const frame = encodeFrame({ type: FrameType.envelope, envelope: item.bytes })
    if (!transport.send(this.id, frame)) { this.#blocked = true; return false }
    this.#sent.remember(item.key, nowMs)
    count(counters, frame)
    counters.payloadBytesSent += frame.length - 1
    return true
  }

  /** Sent ids remembered (for tests: bounded by the horizon and the cap). */
  get sentRemembered (): number { return this.#sent.size }
}

function count (counters: Counters, frame: Uint8Array): void {
  counters.framesSent[frame[0]]++
  counters.bytesSent[frame[0]] += frame.length
}
