/**
 * One link to one peer, as the engine sees it: handshake state, score, the
 * peer's advertised neighbours, reconciliation sessions, and the outbound path —
 * control frames first, then envelopes by precedence — paced by the transport's
 * back-pressure (`send` returning false until the host calls `drain`).
 */
import { ServeBacklog } from './backlog.ts'
import { clockOffsetMs, helloSkewMs } from './network-time.ts'
import { PrecedenceQueue } from './queue.ts'
import { encodeFrame, FrameType, type Frame } from '../frames.ts'
import { TokenBucket } from '../token-bucket.ts'
import { announcedIdsPerSecondMax, controlQueueBytesMax, peerScoreInitial, peerScorePerHourRecovered, reconcileSessionsPerMinuteMax, resendAfterMs, sentIdsRememberedMax, untimelyIdsRememberedMax } from '../limits.ts'
import type { PeerId, Transport } from '../ports.ts'
import type { ReconcileSession } from '../reconcile/index.ts'
import type { Counters } from './types.ts'

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
}

/** Forgotten entries at the front of the send log before it is copied down. */
const sentLogCompactAt = 1024

/**
 * What a relay remembers of a peer across its links: its score (so a peer cannot reset a
 * bad score by reconnecting) and push-tree state (a flapping link should not relearn it).
 */
export interface PeerMemory {
  /** As of `scoredAtMs` (monotonic ms; -Infinity: never penalised, it is the initial score). */
  score: number
  scoredAtMs: number
  lazyAuthors: Set<string>
  /** Authors (ref keys) we asked this peer to stop pushing → when we last asked, ms. */
  prunedByUs: Map<string, number>
  /**
   * Where the envelopes of authors this peer pruned came to us from (a peer id, or 'local'):
   * a new author's first envelope from there is announced to it, not pushed. In memory only.
   */
  prunedUpstreams: Set<string>
}

export class PeerLink {
  readonly id: PeerId
  readonly refKey: string
  readonly queue: PrecedenceQueue<OutEnvelope>
  readonly #control: Uint8Array[] = []
  #controlBytes = 0
  /** Set when a control frame would have taken the queue past `controlQueueBytesMax`: the peer does not read. */
  unread = false
  ready = false
  blocked = false
  /** Score and prunes, shared with this peer's earlier and later links. */
  readonly #memory: PeerMemory
  /** When this link's peer last opened reconciliation sessions with us (monotonic ms, within the last minute). */
  readonly #sessionStarts: number[] = []
  /** Bounds the ids this peer may announce to us per second; created at the first announcement. */
  #announcements: TokenBucket | undefined
  /** Ids of untimely envelopes this peer sent us, oldest first (bounded: each is penalised once). */
  readonly #untimely = new Set<string>()
  frameBytesMax: number
  /** Our estimated one-hop cost to this peer (latency plus serialisation of a typical envelope), ms. */
  costMs: number
  /** What the peer advertised: its neighbours (by ref key) and its cost to each. */
  neighbours = new Map<string, number>()
  /** Authors (ref keys) whose envelopes this peer asked us to announce rather than push. Kept across reconnects. */
  readonly lazyAuthors: Set<string>
  /** Authors we asked this peer to stop pushing → when (one prune per author per link per `pruneRepeatMs`). Kept across reconnects. */
  readonly prunedByUs: Map<string, number>
  /** See PeerMemory. */
  readonly prunedUpstreams: Set<string>
  /**
   * Ids queued to this peer → the queued item (an id is queued once). An item in the queue
   * that is not here any more was cancelled (the peer said it has it) and is skipped.
   */
  readonly queued = new Map<string, OutEnvelope>()
  /**
   * Ids the peer has or is about to have → since when (none older than `resendAfterMs`):
   * handed to the transport on this link, or announced by the peer. Not pushed or
   * re-served in that time, unless the peer asks.
   */
  readonly #sent = new Map<string, number>()
  /**
   * The same sends in the order they happened, from `#sentHead` on (a key sent again
   * appears twice; only the entry matching its time in `#sent` counts): forgetting the
   * oldest takes no walk over the map's deleted entries.
   */
  #sentKeys: string[] = []
  #sentTimes: number[] = []
  #sentHead = 0
  /** Ids a reconciliation found the peer lacking, not yet queued: fed to the queue as it drains (catchup.ts). */
  readonly backlog = new ServeBacklog()
  /** Ids to announce to this peer in the next `have` frame. */
  pendingHaves: Uint8Array[] = []
  haveFlushScheduled = false
  initiator?: { id: number, session: ReconcileSession }
  responder?: { id: number, session: ReconcileSession }
  lastReconcileMs = -Infinity
  /** The peer's clock minus ours as its hello arrived, whole ms (see network-time.ts). */
  #helloSkewMs = 0
  /** The link's one-way latency, when the host knows it (its hello was stamped this long before it arrived), ms. */
  latencyMs = 0
  /** Whether the host told or measured `latencyMs` (else it is an assumed 0). */
  latencyKnown = false
  /** The link's nominal bandwidth, when the host knows it, bits per second. */
  bandwidthBitsPerSecond: number | undefined = undefined

  constructor (id: PeerId, refKey: string, frameBytesMax: number, costMs: number, queueBytesMax: number, memory: PeerMemory) {
    this.id = id
    this.#memory = memory
    this.lazyAuthors = memory.lazyAuthors
    this.prunedByUs = memory.prunedByUs
    this.prunedUpstreams = memory.prunedUpstreams
    this.refKey = refKey
    this.frameBytesMax = frameBytesMax
    this.costMs = costMs
    this.queue = new PrecedenceQueue(queueBytesMax)
  }

  /** The peer's hello arrived (its clock read `peerNowMs`, ours `ourNowMs`): the link is ready. */
  heardHello (peerNowMs: number, ourNowMs: number): void {
    this.ready = true
    this.#helloSkewMs = helloSkewMs(peerNowMs, ourNowMs)
  }

  /** The peer's clock minus ours, whole ms: its hello's skew corrected by the link's latency (its contribution to network time). */
  get clockOffsetMs (): number { return clockOffsetMs(this.#helloSkewMs, this.latencyMs) }

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

  /** Whether `key` went out on this link recently enough that it is still on its way or was just received. */
  sentRecently (key: string, nowMs: number): boolean {
    const at = this.#sent.get(key)
    return at !== undefined && nowMs - at < resendAfterMs
  }

  /** Queues an envelope unless it is already queued or was just sent; `force` re-sends anyway (the peer asked for it). */
  enqueue (precedence: number, item: OutEnvelope, force: boolean, nowMs: number): boolean {
    if (this.queued.has(item.key) || (!force && this.sentRecently(item.key, nowMs))) return false
    this.queued.set(item.key, item)
    for (const dropped of this.queue.push(precedence, item, item.bytes.length)) {
      if (this.queued.get(dropped.key) !== dropped) continue
      this.queued.delete(dropped.key)
      if (dropped.owed === true) this.backlog.putBack(dropped.key)
    }
    return true
  }

  /** Nothing waits on this link (not blocked, no frame queued): an envelope offered now may skip the queue. */
  get idle (): boolean { return !this.blocked && this.#control.length === 0 && this.queue.length === 0 }

  /**
   * Hands one envelope to the transport at once, as `pump` would have done had it been
   * queued (call only when `idle`): 'sent'; 'expired' if it would arrive expired (counted,
   * dropped); 'blocked' if the transport pushed back (the link is now blocked: queue it).
   * On an idle link, the usual case, an envelope then costs no queue entry.
   */
  sendNow (item: OutEnvelope, transport: Transport, counters: Counters, nowMs: number, networkNowMs: number): 'sent' | 'expired' | 'blocked' {
    if (this.#wouldArriveExpired(item, networkNowMs)) { counters.expiredUnsent++; return 'expired' }
    if (!this.#transmit(item, transport, counters, nowMs)) return 'blocked'
    this.#forgetSent(nowMs)
    return 'sent'
  }

  /** The peer has (or is about to get) this id: cancel our queued copy, and send none for `resendAfterMs`. */
  peerHolds (key: string, nowMs: number): void {
    this.queued.delete(key)
    this.backlog.delete(key)
    this.#remember(key, nowMs)
    this.#forgetSent(nowMs)
  }

  #remember (key: string, nowMs: number): void {
    this.#sent.set(key, nowMs)
    this.#sentKeys.push(key)
    this.#sentTimes.push(nowMs)
  }

  /**
   * Queues a control frame ahead of every envelope. Past `controlQueueBytesMax` the frame is
   * dropped and `unread` set: the engine cuts a peer that lets its replies pile up.
   */
  control (frame: Frame): void {
    const bytes = encodeFrame(frame)
    if (this.#controlBytes + bytes.length > controlQueueBytesMax) { this.unread = true; return }
    this.#control.push(bytes)
    this.#controlBytes += bytes.length
  }

  /**
   * Hands frames to the transport until it pushes back. Returns the envelopes sent.
   * Envelopes that expired while queued (a slow link's backlog), or would before they
   * arrive (`costMs` away), are dropped: the peer would refuse them and count each
   * against our score.
   */
  pump (transport: Transport, counters: Counters, nowMs: number, networkNowMs: number): OutEnvelope[] {
    const sent: OutEnvelope[] = []
    if (this.blocked) return sent
    while (this.#control.length > 0) {
      const frame = this.#control[0]
      if (!transport.send(this.id, frame)) { this.blocked = true; return sent }
      this.#control.shift()
      this.#controlBytes -= frame.length
      count(counters, frame)
    }
    for (;;) {
      const item = this.queue.peek()
      if (item === undefined) break
      if (this.queued.get(item.key) !== item) { this.queue.shift(); continue } // cancelled
      if (this.#wouldArriveExpired(item, networkNowMs)) {
        this.queue.shift()
        this.queued.delete(item.key)
        counters.expiredUnsent++
        continue
      }
      if (!this.#transmit(item, transport, counters, nowMs)) break
      this.queue.shift()
      this.queued.delete(item.key)
      sent.push(item)
    }
    if (sent.length > 0) this.#forgetSent(nowMs)
    return sent
  }

  #wouldArriveExpired (item: OutEnvelope, networkNowMs: number): boolean { return item.expiresAtMs <= networkNowMs + this.costMs }

  /** Frames an envelope and hands it to the transport; false (and blocked) if it pushed back. */
  #transmit (item: OutEnvelope, transport: Transport, counters: Counters, nowMs: number): boolean {
    const frame = encodeFrame({ type: FrameType.envelope, envelope: item.bytes })
    if (!transport.send(this.id, frame)) { this.blocked = true; return false }
    this.#remember(item.key, nowMs)
    count(counters, frame)
    counters.payloadBytesSent += frame.length - 1
    return true
  }

  /** Drops sent ids past the resend horizon (they no longer matter) and beyond the cap, oldest first. */
  #forgetSent (nowMs: number): void {
    const keys = this.#sentKeys
    const times = this.#sentTimes
    let head = this.#sentHead
    while (head < keys.length) {
      if (nowMs - times[head] < resendAfterMs && this.#sent.size <= sentIdsRememberedMax) break
      if (this.#sent.get(keys[head]) === times[head]) this.#sent.delete(keys[head])
      head++
    }
    if (head >= sentLogCompactAt && 2 * head >= keys.length) {
      this.#sentKeys = keys.slice(head)
      this.#sentTimes = times.slice(head)
      head = 0
    }
    this.#sentHead = head
  }

  /** Sent ids remembered (for tests: bounded by the horizon and the cap). */
  get sentRemembered (): number { return this.#sent.size }
}

function count (counters: Counters, frame: Uint8Array): void {
  counters.framesSent[frame[0]]++
  counters.bytesSent[frame[0]] += frame.length
}

/** A remembered score as of `monotonicMs`: what was won back since the last penalty added, up to the initial score. */
export function scoreAt (memory: Pick<PeerMemory, 'score' | 'scoredAtMs'>, monotonicMs: number): number {
  const elapsedMs = Math.max(0, monotonicMs - memory.scoredAtMs)
  return Math.min(peerScoreInitial, memory.score + elapsedMs * peerScorePerHourRecovered / 3_600_000)
}
