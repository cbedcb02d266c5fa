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
import { entryOverheadBytes, idFromKey, idKey, type Catalog, type Entry } from './catalog.ts'
import type { Links } from './links.ts'
import type { MessageLog } from './log.ts'
import type { LinkOutput } from './outbound.ts'
import { flowOf, type PeerLink } from './peer.ts'
import type { EngineConfig } from './types.ts'
import { catchUpIdsAheadMax, idListItemsMax, reconcileWaitsForIdsMin } from '../limits.ts'
import type { Clock, Logger } from '../ports.ts'

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

export interface CatchUpDeps {
  config: Pick<EngineConfig, 'reconcileIntervalMs' | 'peerQueueBytesMax'>
  clock: Pick<Clock, 'nowMs' | 'monotonicMs'>
  networkNowMs (): number
  links: Pick<Links, 'isCurrent' | 'values'>
  catalog: Pick<Catalog, 'get'>
  log: Pick<MessageLog, 'get'>
  output: Pick<LinkOutput, 'offer' | 'pump'>
  logger: Logger
  /** Starts the next reconciliation on a link whose range pass was waiting. */
  resume (link: PeerLink): void
}

/**
 * Whether a new reconciliation waits while `outstanding` ids (owed plus promised) still move
 * on its link: the next range of a pass (`walking`) waits past `catchUpIdsAheadMax`, a
 * periodic pass past `reconcileWaitsForIdsMin`.
 */
export function catchUpWaits (outstanding: number, walking: boolean): boolean {
  return outstanding > (walking ? catchUpIdsAheadMax : reconcileWaitsForIdsMin)
}

export class CatchUp {
  readonly #d: CatchUpDeps
  readonly #links = new WeakMap<PeerLink, LinkState>()

  constructor (deps: CatchUpDeps) { this.#d = deps }

  #state (link: PeerLink): LinkState {
    let s = this.#links.get(link)
    if (s === undefined) { s = { promised: 0, epoch: 0, progressMs: -Infinity, waiting: false }; this.#links.set(link, s) }
    return s
  }

  #nowMs (): number { return this.#d.clock.monotonicMs() }

  /** Whether something moved on this link within the last reconciliation interval. */
  moving (link: PeerLink): boolean {
    return this.#nowMs() - this.#state(link).progressMs < this.#d.config.reconcileIntervalMs
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
    const wait = catchUpWaits(link.backlog.size + s.promised, walking)
    s.waiting = wait && walking
    return wait
  }

  #restart (s: LinkState): void {
    s.promised = 0
    s.epoch++
  }

  /** Forget every link's promises (the engine's map of them was cleared at its bound). */
  forgetPromises (): void {
    for (const link of this.#d.links.values()) this.#restart(this.#state(link))
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
    if (!s.waiting || catchUpWaits(link.backlog.size + s.promised, true)) return
    s.waiting = false
    this.#d.resume(link)
  }

  /**
   * Owes the peer what a reconciliation found it lacking: unexpired envelopes we hold, by
   * precedence, then oldest first (so within one session an author's envelopes arrive in sequence).
   */
  owe (link: PeerLink, ids: Uint8Array[]): void {
    const nowNetworkMs = this.#d.networkNowMs()
    const entries: Entry[] = []
    for (const id of ids) {
      const entry = this.#d.catalog.get(idKey(id))
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
    const d = this.#d
    if (owed.size === 0 || owed.reading || !d.links.isCurrent(link)) return
    const targetBytes = d.config.peerQueueBytesMax / 2
    if (link.queue.bytes > targetBytes / 2) return
    const nowMs = d.clock.nowMs()
    const nowNetworkMs = d.networkNowMs()
    const batch: Entry[] = []
    let bytes = link.queue.bytes
    while (bytes < targetBytes && batch.length < idListItemsMax) {
      const key = owed.shift()
      if (key === undefined) break
      const entry = d.catalog.get(key)
      // Purged, evicted or expired meanwhile (nothing expired is re-synced), or on its way already.
      if (entry === undefined || entry.expiresAtMs <= nowNetworkMs || link.isQueued(key) || link.sentRecently(key, nowMs)) continue
      batch.push(entry)
      bytes += entry.size - entryOverheadBytes
    }
    if (batch.length === 0) return
    const s = this.#state(link)
    s.progressMs = this.#nowMs()
    owed.readingNext(true)
    Promise.all(batch.map(e => d.log.get(idFromKey(e.key)))).then(records => {
      owed.readingNext(false)
      if (!d.links.isCurrent(link)) return
      records.forEach((rec, i) => {
        const e = batch[i]
        if (rec !== undefined) d.output.offer(link, e.precedence, { id: rec.envelope.id, key: e.key, bytes: rec.envelope.bytes, expiresAtMs: e.expiresAtMs, owed: true, flow: flowOf(rec.envelope) }, false)
      })
      d.output.pump(link) // and so the next batch, once the link has taken these
      this.#maybeResume(link, s)
    }, (e: unknown) => {
      owed.readingNext(false)
      // Those ids are no longer owed; the next reconciliation finds them again.
      d.logger.error({ peer: link.id, ids: batch.length, err: (e as Error).message }, 'store read failed while catching a peer up')
    })
  }
}
