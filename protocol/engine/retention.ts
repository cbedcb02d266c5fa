/**
 * What leaves a relay's store, and when: expiry purges, precedence eviction under the
 * storage quota, and strong removal of a revoked member's stream. Every removal is one
 * store batch with the envelope's index entries; evictions and discards leave tombstones
 * so reconciliation never fetches those ids again, and purges remember the ids they remove.
 * The engine calls `makeRoom` before it stores, counts the bytes in flight (`reserve`,
 * `release`), and exposes `purge` and `discardStream` to its host.
 *
 * @example
 * const victims = retention.makeRoom(sizeBytes, env.precedence)   // or QuotaError
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
}

export class Retention {
  readonly #d: RetentionDeps
  /** Bytes of envelopes being written: counted against the quota before they land. */
  #pendingBytes = 0

  constructor (deps: RetentionDeps) { this.#d = deps }

  /** `size` bytes are being written: counted against the quota until `release`. */
  reserve (size: number): void { this.#pendingBytes += size }

  /** The write of `size` bytes landed (they are in the catalog now) or failed. */
  release (size: number): void { this.#pendingBytes -= size }

  /** Picks eviction victims so that `size` more bytes fit, or throws QuotaError (nothing is removed then). */
  makeRoom (size: number, precedence: number): Entry[] {
    const { catalog, storageBytesMax } = this.#d
    const victims: Entry[] = []
    let free = storageBytesMax - catalog.bytesUsed - this.#pendingBytes
    while (free < size) {
      const v = catalog.evictionCandidate(precedence)
      if (v === undefined) break
      catalog.remove(v.key)
      victims.push(v)
      free += v.size
    }
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
    const expired = e.catalog.expired(now, purgeBatchMax)
    const ops: StoreOp[] = []
    for (const x of expired) {
      e.catalog.remove(x.key)
      e.set.delete(x.key)
      // Remembered, not reconciled: peers whose clocks still call it live keep offering it, and
      // our own network time may move back (a partition changes which peers set it).
      e.catalog.addTombstone(x.key, x.expiresAtMs)
      ops.push(...e.log.removeOps(entryFields(x), false), e.log.retiredOp(entryId(x), x.expiresAtMs))
    }
    for (const key of e.catalog.expiredTombstones(e.clock.nowMs() - clockSkewMsMax)) {
      e.set.delete(key)
      ops.push(...e.log.tombstoneDeleteOps(idFromKey(key)))
    }
    if (ops.length > 0) await e.write(ops)
    if (expired.length > 0) {
      e.counters.purged += expired.length
      e.events?.removed?.(expired.map(entryId), 'purged')
    }
    return expired.length
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
