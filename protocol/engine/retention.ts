/**
 * What leaves a relay's store, and when: expiry purges, precedence eviction under the
 * storage quota, and strong removal of a revoked member's stream. Every removal is one
 * store batch with the envelope's index entries; evictions and discards leave tombstones
 * so reconciliation never fetches those ids again, and purges remember the ids they remove.
 * A file (#23) leaves whole: evicting or expiring one of its pieces takes every piece of it
 * held here, so no chunk is left without its file.
 * The engine calls `makeRoom` before it stores, counts the bytes in flight (`reserve`,
 * `release`), and exposes `purge` and `discardStream` to its host.
 *
 * @example
 * const victims = retention.makeRoom(sizeBytes, env.precedence)   // or QuotaError
 * const victims = retention.makeRoom(sizeBytes, env.precedence, fileKey)   // a file piece: its own file is kept
 * await retention.purge()
 */
import { entryId, idFromKey, idsAt, type Catalog, type Entry } from './catalog.ts'
import type { IndexedFields, MessageLog } from './log.ts'
import { streamChannelKey, streamKey } from './stream-key.ts'
import type { Counters, EngineEvents } from './types.ts'
import { QuotaError } from '../errors.ts'
import { clockSkewMsMax } from '../limits.ts'
import type { Clock, StoreOp } from '../ports.ts'
import type { ReconcileSet } from '../reconcile/index.ts'

/** Expired envelopes removed per purge round (the next round takes the rest). */
const purgeBatchMax = 10_000

/** What the log's indexes need to remove a catalogued envelope's records. */
export function entryFields (e: Entry): IndexedFields {
  return { id: entryId(e), kind: e.kind, expiresAtMs: e.expiresAtMs, hlc: { ms: e.hlcMs, c: e.hlcC }, channel: idFromKey(streamChannelKey(e.stream)) }
}

export interface RetentionDeps {
  catalog: Catalog
  set: Pick<ReconcileSet, 'delete'>
  log: Pick<MessageLog, 'removeOps' | 'retiredOp' | 'tombstoneDeleteOps'>
  /** The storage quota, bytes. */
  storageBytesMax: number
  clock: Pick<Clock, 'nowMs'>
  networkNowMs (): number
  write (ops: StoreOp[]): Promise<void>
  counters: Pick<Counters, 'purged' | 'discarded'>
  events: Pick<EngineEvents, 'removed'> | undefined
  /** Whether a channel is under a legal hold: its expired envelopes stay until it is lifted. */
  onHold (channel: Uint8Array): boolean
}

export class Retention {
  readonly #d: RetentionDeps
  /** Bytes of envelopes being written: counted against the quota before they land. */
  #pendingBytes = 0
  /**
   * Expired entries kept for channels under a legal hold (channel id key → entries), out of
   * the expiry order: each purge takes those whose hold has been lifted. Bounded by the
   * store (they are held envelopes); rebuilt on restart, when every entry is in the order again.
   */
  readonly #heldExpired = new Map<string, Entry[]>()

  constructor (deps: RetentionDeps) { this.#d = deps }

  /** `size` bytes are being written: counted against the quota until `release`. */
  reserve (size: number): void { this.#pendingBytes += size }

  /** The write of `size` bytes landed (they are in the catalog now) or failed. */
  release (size: number): void { this.#pendingBytes -= size }

  /** Bytes of the quota neither held nor being written. */
  freeBytes (): number { return this.#d.storageBytesMax - this.#d.catalog.bytesUsed - this.#pendingBytes }

  /**
   * Picks eviction victims so that `size` more bytes fit, or throws QuotaError (nothing is
   * removed then). A victim that is a file piece takes the rest of its file with it (but
   * not pieces in custody, which are never evicted; an honest author gives every piece the
   * same precedence, and one who did not loses the whole file with its least urgent piece).
   * `ownFile`, the file of the piece that needs the room, is never evicted for it: that would
   * leave the newcomer an orphan.
   */
  makeRoom (size: number, precedence: number, ownFile?: string): Entry[] {
    const { catalog, storageBytesMax } = this.#d
    const victims: Entry[] = []
    /** The newcomer's own file's pieces, out of the eviction order until we are done. */
    const aside: Entry[] = []
    let free = this.freeBytes()
    const evict = (v: Entry): void => {
      catalog.remove(v.key)
      victims.push(v)
      free += v.size
    }
    while (free < size) {
      const v = catalog.evictionCandidate(precedence)
      if (v === undefined) break
      if (v.file !== undefined && v.file === ownFile) {
        for (const key of catalog.piecesOf(v.file)) {
          const x = catalog.get(key)
          if (x !== undefined && !x.custody) { catalog.remove(key); aside.push(x) }
        }
        continue
      }
      evict(v)
      if (v.file === undefined) continue
      for (const key of catalog.piecesOf(v.file)) {
        const x = catalog.get(key)
        if (x !== undefined && !x.custody) evict(x)
      }
    }
    for (const x of aside) catalog.add(x)
    if (free < size) {
      for (const v of victims) catalog.add(v)
      throw new QuotaError(`storage quota of ${storageBytesMax} bytes is full of envelopes this node must keep; refusing new custody`)
    }
    return victims
  }

  /**
   * Removes expired envelopes, remembering their ids, and spent tombstones. Returns how
   * many envelopes. Expiry is judged by network time, which is our clock plus the median
   * offset of our peers (at most `clockSkewMsMax` either way), so it can move back when
   * the peers change. An id is therefore forgotten only once our own clock, less that
   * allowance, has passed its expiry: from then on no network time this node can adopt
   * would accept the envelope again, so nothing purged or evicted is ever stored twice.
   */
  async purge (): Promise<number> {
    const e = this.#d
    const now = e.networkNowMs()
    const expired = this.#released().concat(this.#notHeld(e.catalog.expired(now, purgeBatchMax)))
    const ops: StoreOp[] = []
    const removed: Uint8Array[] = []
    for (const x of expired) {
      if (e.catalog.remove(x.key) === undefined) continue // taken earlier in this round with its file
      this.#retire(x, ops)
      removed.push(entryId(x))
      if (x.file === undefined) continue
      // The rest of its file goes with it: its pieces share one expiry unless their author gave
      // them different ones, and a chunk whose manifest is gone is no use to anyone.
      for (const key of e.catalog.piecesOf(x.file)) {
        const y = e.catalog.remove(key)
        if (y === undefined) continue
        if (y.expiresAtMs <= now) this.#retire(y, ops)
        else {
          // Not expired itself: tombstoned as an eviction's victim is, still offered as held, so
          // reconciliation does not fetch it again before its own expiry.
          e.catalog.addTombstone(key, y.expiresAtMs)
          ops.push(...e.log.removeOps(entryFields(y), true))
        }
        removed.push(entryId(y))
      }
    }
    for (const key of e.catalog.expiredTombstones(e.clock.nowMs() - clockSkewMsMax)) {
      e.set.delete(key)
      ops.push(...e.log.tombstoneDeleteOps(idFromKey(key)))
    }
    if (ops.length > 0) await e.write(ops)
    if (removed.length > 0) {
      e.counters.purged += removed.length
      e.events?.removed?.(removed, 'purged')
    }
    return removed.length
  }

  /** Of expired entries, those whose channel is not on hold; the rest are set aside until it is lifted. */
  #notHeld (expired: Entry[]): Entry[] {
    return expired.filter(x => {
      const channel = streamChannelKey(x.stream)
      if (!this.#d.onHold(idFromKey(channel))) return true
      // Kept, not offered: a peer that let it go would fetch it again at every reconciliation.
      this.#d.set.delete(x.key)
      const aside = this.#heldExpired.get(channel) ?? []
      aside.push(x)
      this.#heldExpired.set(channel, aside)
      return false
    })
  }

  /** Entries set aside for holds since lifted (still held here: a discard may have taken some). */
  #released (): Entry[] {
    const out: Entry[] = []
    for (const [channel, entries] of this.#heldExpired) {
      if (this.#d.onHold(idFromKey(channel))) continue
      this.#heldExpired.delete(channel)
      for (const x of entries) if (this.#d.catalog.has(x.key)) out.push(x)
    }
    return out
  }

  /** How many expired envelopes are kept because their channel is on hold. */
  heldExpiredCount (): number {
    let n = 0
    for (const entries of this.#heldExpired.values()) n += entries.length
    return n
  }

  /** An expired envelope, already out of the catalog: its records go, its id is remembered. */
  #retire (x: Entry, ops: StoreOp[]): void {
    const e = this.#d
    e.set.delete(x.key)
    // Remembered, not reconciled: peers whose clocks still call it live keep offering it, and
    // our own network time may move back (a partition changes which peers set it).
    e.catalog.addTombstone(x.key, x.expiresAtMs)
    ops.push(...e.log.removeOps(entryFields(x), false), e.log.retiredOp(entryId(x), x.expiresAtMs))
  }

  /**
   * Strong removal: removes every envelope of one author in one channel with sequence above
   * `afterSeq`, leaving tombstones so reconciliation never fetches them again. Returns how many.
   */
  async discardStream (channel: Uint8Array, author: Uint8Array, afterSeq: number): Promise<number> {
    const e = this.#d
    const stream = e.catalog.streams.get(streamKey({ channel, author }))
    if (stream === undefined) return 0
    const victims = [...stream.bySeq.keys()].filter(seq => seq > afterSeq).flatMap(seq => idsAt(stream, seq))
    const ops: StoreOp[] = []
    const ids: Uint8Array[] = []
    for (const key of victims) {
      const x = e.catalog.remove(key)
      if (x === undefined) continue
      e.catalog.addTombstone(key, x.expiresAtMs)
      ops.push(...e.log.removeOps(entryFields(x), true))
      ids.push(entryId(x))
    }
    if (ops.length > 0) await e.write(ops)
    e.counters.discarded += ids.length
    if (ids.length > 0) e.events?.removed?.(ids, 'discarded')
    return ids.length
  }
}
