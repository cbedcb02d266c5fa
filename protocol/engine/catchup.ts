/**
 * Catching a peer up, at the pace its link takes. What a reconciliation finds a peer
 * lacking is owed to it (its link's ServeBacklog, sorted by precedence, then oldest
 * first) and moves into the link's byte-bounded queue only as the queue drains: a
 * difference of 200,000 envelopes crosses at the link's speed with none dropped from
 * an overflowing queue and found again, round after round, by later reconciliations.
 *
 * It also counts, per link, the ids that peer promised to push us. Owed plus promised
 * is what is still moving; a range-by-range pass waits while more than
 * `catchUpIdsAheadMax` are (one range streams while the next is reconciled), and a
 * periodic pass waits while more than `reconcileWaitsForIdsMin` are. Nothing waits on
 * a link where nothing moved for a whole reconciliation interval: what is outstanding
 * there was lost (a purge, a dropped frame), and the next pass finds it again.
 *
 * @example
 * catchUp.owe(link, step.have)     // pushed as the link drains
 * catchUp.refill(link)             // after each pump
 * if (!catchUp.waits(link, walking)) startSession()
 */
import { entryOverheadBytes, idFromKey, idKey, type Entry } from './catalog.ts'
import type { Engine } from './engine.ts'
import type { PeerLink } from './peer.ts'
import { catchUpIdsAheadMax, idListItemsMax, reconcileWaitsForIdsMin } from '../limits.ts'

/** A promise made by one peer's reconciliation, shared by the ids it covers. */
export interface Promised {
  link: PeerLink
  atMs: number
  /** The link's count epoch when made: after a stall the count restarts, and older promises no longer count. */
  epoch: number
}

interface LinkState {
  /** Ids this peer promised us and has not yet delivered (this epoch). */
  promised: number
  epoch: number
  /** When something last moved: a promise made or kept, an owed envelope fed to the link (monotonic ms). */
  progressMs: number
  /** A range pass waits for room on this link (resume it when there is). */
  waiting: boolean
}

export class CatchUp {
  readonly #e: Engine
  readonly #links = new WeakMap<PeerLink, LinkState>()
  readonly #resume: (link: PeerLink) => void

  /** `resume` starts the next reconciliation on a link whose range pass was waiting. */
  constructor (engine: Engine, resume: (link: PeerLink) => void) {
    this.#e = engine
    this.#resume = resume
  }

  #state (link: PeerLink): LinkState {
    let s = this.#links.get(link)
    if (s === undefined) { s = { promised: 0, epoch: 0, progressMs: -Infinity, waiting: false }; this.#links.set(link, s) }
    return s
  }

  #nowMs (): number { return this.#e.deps.clock.monotonicMs() }

  /** Whether something moved on this link within the last reconciliation interval. */
  moving (link: PeerLink): boolean {
    return this.#nowMs() - this.#state(link).progressMs < this.#e.config.reconcileIntervalMs
  }

  /** Whether this peer is still bringing what its reconciliation promised us (and it is moving). */
  bringing (link: PeerLink): boolean {
    return this.#state(link).promised > 0 && this.moving(link)
  }

  /**
   * Whether a new reconciliation with this peer should wait (`walking`: the next range of a
   * pass; else a periodic pass). If nothing moved for an interval, what is still counted was
   * lost: the count restarts and nothing waits.
   */
  waits (link: PeerLink, walking: boolean): boolean {
    const s = this.#state(link)
    if (!this.moving(link)) {
      this.#restart(s)
      return false
    }
    const wait = link.backlog.size + s.promised > (walking ? catchUpIdsAheadMax : reconcileWaitsForIdsMin)
    s.waiting = wait && walking
    return wait
  }

  #restart (s: LinkState): void {
    s.promised = 0
    s.epoch++
  }

  /** Forget every link's promises (the engine's map of them was cleared at its bound). */
  forgetPromises (): void {
    for (const link of this.#e.peers.values()) this.#restart(this.#state(link))
  }

  /** A promise for ids this peer's reconciliation says it is pushing now. */
  promise (link: PeerLink, atMs: number): Promised {
    const s = this.#state(link)
    s.progressMs = this.#nowMs()
    return { link, atMs, epoch: s.epoch }
  }

  /** One more id counted under `p` (it was not already promised by this link this epoch). */
  count (p: Promised): void {
    const s = this.#state(p.link)
    if (p.epoch === s.epoch) s.promised++
  }

  /** An id promised under `p` arrived (or another link was left to bring it): one less outstanding. */
  settled (p: Promised, arrived: boolean): void {
    const s = this.#state(p.link)
    if (p.epoch !== s.epoch) return
    s.promised = Math.max(0, s.promised - 1)
    if (arrived) s.progressMs = this.#nowMs()
    this.#maybeResume(p.link, s)
  }

  #maybeResume (link: PeerLink, s: LinkState): void {
    if (!s.waiting || link.backlog.size + s.promised > catchUpIdsAheadMax) return
    s.waiting = false
    this.#resume(link)
  }

  /**
   * Owes the peer what a reconciliation found it lacking: unexpired envelopes we hold, by
   * precedence, then oldest first (so within one session an author's envelopes arrive in sequence).
   */
  owe (link: PeerLink, ids: Uint8Array[]): void {
    const nowNetworkMs = this.#e.networkNowMs()
    const entries: Entry[] = []
    for (const id of ids) {
      const entry = this.#e.catalog.get(idKey(id))
      if (entry !== undefined && entry.expiresAtMs > nowNetworkMs) entries.push(entry)
    }
    entries.sort((x, y) => x.precedence - y.precedence || x.hlcMs - y.hlcMs || x.hlcC - y.hlcC || (x.stream < y.stream ? -1 : x.stream > y.stream ? 1 : x.seq - y.seq))
    for (const e of entries) link.backlog.add(e.key, e.precedence)
    this.refill(link)
  }

  /**
   * Moves owed envelopes into the link's queue while it holds less than half of
   * `peerQueueBytesMax / 2`, up to that much: one store read of at most `idListItemsMax`
   * envelopes at a time, the next once the link has taken them. Half the queue stays free
   * for eager traffic; an owed envelope the queue drops on overflow is owed again.
   */
  refill (link: PeerLink): void {
    const owed = link.backlog
    if (owed.size === 0 || owed.reading || !this.#e.peers.isCurrent(link)) return
    const targetBytes = this.#e.config.peerQueueBytesMax / 2
    if (link.queue.bytes > targetBytes / 2) return
    const nowMs = this.#e.deps.clock.nowMs()
    const nowNetworkMs = this.#e.networkNowMs()
    const batch: Entry[] = []
    let bytes = link.queue.bytes
    while (bytes < targetBytes && batch.length < idListItemsMax) {
      const key = owed.shift()
      if (key === undefined) break
      const entry = this.#e.catalog.get(key)
      // Purged, evicted or expired meanwhile (nothing expired is re-synced), or on its way already.
      if (entry === undefined || entry.expiresAtMs <= nowNetworkMs || link.isQueued(key) || link.sentRecently(key, nowMs)) continue
      batch.push(entry)
      bytes += entry.size - entryOverheadBytes
    }
    if (batch.length === 0) return
    const s = this.#state(link)
    s.progressMs = this.#nowMs()
    owed.readingNext(true)
    Promise.all(batch.map(e => this.#e.log.get(idFromKey(e.key)))).then(records => {
      owed.readingNext(false)
      if (!this.#e.peers.isCurrent(link)) return
      records.forEach((rec, i) => {
        const e = batch[i]
        if (rec !== undefined) this.#e.offer(link, e.precedence, { id: rec.envelope.id, key: e.key, bytes: rec.envelope.bytes, expiresAtMs: e.expiresAtMs, owed: true }, false)
      })
      this.#e.pump(link) // and so the next batch, once the link has taken these
      this.#maybeResume(link, s)
    }, (e: unknown) => {
      owed.readingNext(false)
      // Those ids are no longer owed; the next reconciliation finds them again.
      this.#e.deps.logger.error({ peer: link.id, ids: batch.length, err: (e as Error).message }, 'store read failed while catching a peer up')
    })
  }
}
