/**
 * The durable message log: how envelopes and their indexes sit in the `Store`.
 * Appending an envelope writes it and its index entry in one atomic batch; a purge
 * or eviction removes them in one batch (an eviction leaves a tombstone so
 * reconciliation never fetches the id again). Expiry, eviction order and sequences
 * are the engine's in-memory catalog, rebuilt from the records on start, so the
 * store indexes only what a client reads from disk. Layout, format version 2:
 *
 *   ['v']                          → u8 layout version
 *   ['e', id]                      → u8 version, u8 flags (bit 0 custody), u48 receivedAtMs, envelope bytes
 *   ['c', channel, kind, hlcMs, hlcC, id] → ''  by channel and kind, then HLC (a client's backlog)
 *   ['t', id]                      → u48 expiresAtMs   tombstone of an evicted envelope
 *   ['r', id]                      → u48 expiresAtMs   an envelope purged at expiry, remembered
 *                                    (not reconciled) so that a later, earlier-running clock
 *                                    cannot make this node store it again
 *   ['l', peer, author]            → ''  the peer asked us to announce this author's envelopes
 *                                    rather than push them (prune); kept so that a restart
 *                                    does not push it every author's next envelope twice
 *
 * Version 1 also kept three indexes nothing read (by expiry 'x', by precedence 'p',
 * by stream sequence 's'), four key writes per envelope instead of one, and its
 * channel index lacked the HLC counter, so envelopes stamped in the same millisecond
 * came back in id order rather than causal order. Opening a version 1 store deletes
 * its indexes, re-indexes every record, and only then records version 2; each step is
 * idempotent, so a crash mid-way starts the migration again safely.
 * The 'r' and 'l' records came later within version 2: software that predates them never
 * reads them, so a store that has some still opens there (it just never deletes them).
 *
 * @example
 * const log = new MessageLog(store, sha256)
 * await log.open()
 * await log.append(env, { custody: true, receivedAtMs })
 * for await (const rec of log.loadAll()) catalog.add(...)
 */
import { ByteReader, ByteWriter, bytesEqual, concatBytes } from '../bytes.ts'
import { StorageError } from '../errors.ts'
import { decodeEnvelope, type Envelope } from '../envelope.ts'
import { encodeKey, decodeKey, prefixRange } from '../keys.ts'
import type { Hlc } from '../hlc.ts'
import type { Store, StoreOp } from '../ports.ts'

export const logFormatVersion = 2
/** Index prefixes of layout version 1 (all rebuilt or dropped by the migration). */
const v1IndexPrefixes = ['x', 'p', 's', 'c']
/** Keys deleted per batch while migrating (bounded, like every batch). */
const migrateBatchKeysMax = 1000
const recordVersion = 1
const empty = new Uint8Array(0)

export interface StoredRecord {
  envelope: Envelope
  custody: boolean
  receivedAtMs: number
}

/** What locates an envelope's index entry (and dates its tombstone). */
export interface IndexedFields {
  id: Uint8Array
  kind: number
  expiresAtMs: number
  hlc: Hlc
  channel: Uint8Array
}

function indexKey (f: IndexedFields): Uint8Array {
  return encodeKey(['c', f.channel, f.kind, f.hlc.ms, f.hlc.c, f.id])
}

export function encodeRecord (env: Envelope, custody: boolean, receivedAtMs: number): Uint8Array {
  const w = new ByteWriter(8 + env.bytes.length, { transient: true }) // the store copies it in
  w.u8(recordVersion)
  w.u8(custody ? 1 : 0)
  w.uintBE(receivedAtMs, 6)
  w.bytes(env.bytes)
  return w.finish()
}

export function decodeRecord (value: Uint8Array, sha256: (b: Uint8Array) => Uint8Array): StoredRecord {
  const r = new ByteReader(value)
  const version = r.u8()
  if (version !== recordVersion) throw new StorageError(`unknown record version ${version}`)
  const flags = r.u8()
  const receivedAtMs = r.uintBE(6)
  return { custody: (flags & 1) === 1, receivedAtMs, envelope: decodeEnvelope(r.bytes(r.remaining()), sha256) }
}

export class MessageLog {
  readonly #store: Store
  readonly #sha256: (b: Uint8Array) => Uint8Array

  constructor (store: Store, sha256: (b: Uint8Array) => Uint8Array) {
    this.#store = store
    this.#sha256 = sha256
  }

  /** Checks (or writes, on an empty store) the layout version; migrates version 1. */
  async open (): Promise<void> {
    const v = await this.#store.get(encodeKey(['v']))
    if (v !== undefined && v.length === 1 && v[0] === 1) await this.#migrateFromV1()
    else if (v !== undefined && (v.length !== 1 || v[0] !== logFormatVersion)) throw new StorageError(`store layout version ${v[0]} is not ${logFormatVersion}; refusing to guess`)
    if (v === undefined || v[0] !== logFormatVersion) await this.#store.batch([{ type: 'put', key: encodeKey(['v']), value: Uint8Array.of(logFormatVersion) }])
  }

  /** Replaces version 1's indexes with version 2's, a bounded batch at a time; the caller then records version 2. */
  async #migrateFromV1 (): Promise<void> {
    for (const prefix of v1IndexPrefixes) {
      for (;;) {
        const ops: StoreOp[] = []
        for await (const [key] of this.#store.range({ ...prefixRange([prefix]), limit: migrateBatchKeysMax })) ops.push({ type: 'del', key })
        if (ops.length === 0) break
        await this.#store.batch(ops)
      }
    }
    let ops: StoreOp[] = []
    for await (const rec of this.loadAll()) {
      if ('corrupt' in rec) continue // left for the engine's open, which deletes and reports it
      ops.push({ type: 'put', key: indexKey(fieldsOf(rec.envelope)), value: empty })
      if (ops.length >= migrateBatchKeysMax) { await this.#store.batch(ops); ops = [] }
    }
    if (ops.length > 0) await this.#store.batch(ops)
  }

  appendOps (env: Envelope, custody: boolean, receivedAtMs: number): StoreOp[] {
    return [
      { type: 'put', key: encodeKey(['e', env.id]), value: encodeRecord(env, custody, receivedAtMs) },
      { type: 'put', key: indexKey(fieldsOf(env)), value: empty },
    ]
  }

  /** Ops that delete an envelope and its indexes; with `tombstone`, remember the id until expiry. */
  removeOps (f: IndexedFields, tombstone: boolean): StoreOp[] {
    const ops: StoreOp[] = [{ type: 'del', key: encodeKey(['e', f.id]) }, { type: 'del', key: indexKey(f) }]
    if (tombstone) {
      const w = new ByteWriter(6); w.uintBE(f.expiresAtMs, 6)
      ops.push({ type: 'put', key: encodeKey(['t', f.id]), value: w.finish() })
    }
    return ops
  }

  /** Deletes a record found corrupt (its index entries are left; they point at nothing and are harmless). */
  recordDeleteOp (id: Uint8Array): StoreOp {
    return { type: 'del', key: encodeKey(['e', id]) }
  }

  /** Remembers an id purged at expiry (see the layout above). */
  retiredOp (id: Uint8Array, expiresAtMs: number): StoreOp {
    const w = new ByteWriter(6); w.uintBE(expiresAtMs, 6)
    return { type: 'put', key: encodeKey(['r', id]), value: w.finish() }
  }

  /** Forgets a spent tombstone, of either kind (deleting a key that is absent is a no-op). */
  tombstoneDeleteOps (id: Uint8Array): StoreOp[] {
    return [{ type: 'del', key: encodeKey(['t', id]) }, { type: 'del', key: encodeKey(['r', id]) }]
  }

  async get (id: Uint8Array): Promise<StoredRecord | undefined> {
    const value = await this.#store.get(encodeKey(['e', id]))
    return value === undefined ? undefined : decodeRecord(value, this.#sha256)
  }

  /** Every stored record; a record whose bytes no longer hash to its key is reported as corrupt. */
  async * loadAll (): AsyncIterable<StoredRecord | { corrupt: Uint8Array, reason: string }> {
    for await (const [key, value] of this.#store.range(prefixRange(['e']))) {
      const id = decodeKey(key)[1] as Uint8Array
      try {
        const rec = decodeRecord(value, this.#sha256)
        if (!bytesEqual(rec.envelope.id, id)) yield { corrupt: id, reason: 'id does not match envelope bytes' }
        else yield rec
      } catch (e) {
        yield { corrupt: id, reason: (e as Error).message }
      }
    }
  }

  /** Tombstones of evicted or discarded envelopes ('t'), then ids purged at expiry ('r', `retired`). */
  async * loadTombstones (): AsyncIterable<{ id: Uint8Array, expiresAtMs: number, retired: boolean }> {
    for (const prefix of ['t', 'r']) {
      for await (const [key, value] of this.#store.range(prefixRange([prefix]))) {
        yield { id: decodeKey(key)[1] as Uint8Array, expiresAtMs: new ByteReader(value).uintBE(6), retired: prefix === 'r' }
      }
    }
  }

  /** Records (put) or forgets (del) that `peer` asked us to announce `author`'s envelopes rather than push them. */
  lazyOp (peer: string, author: Uint8Array, lazy: boolean): StoreOp {
    const key = encodeKey(['l', peer, author])
    return lazy ? { type: 'put', key, value: new Uint8Array(0) } : { type: 'del', key }
  }

  /** Every (peer, author) a peer asked us to announce rather than push. */
  async * loadLazy (): AsyncIterable<{ peer: string, author: Uint8Array }> {
    for await (const [key] of this.#store.range(prefixRange(['l']))) {
      const parts = decodeKey(key)
      yield { peer: parts[1] as string, author: parts[2] as Uint8Array }
    }
  }

  /** The newest `limit` envelopes of one kind in a channel, oldest first by HLC (a client's backlog). */
  async byChannel (channel: Uint8Array, kind: number, limit: number): Promise<Array<{ id: Uint8Array, hlc: Hlc }>> {
    const out: Array<{ id: Uint8Array, hlc: Hlc }> = []
    for await (const [key] of this.#store.range({ ...prefixRange(['c', channel, kind]), reverse: true, limit })) {
      const parts = decodeKey(key)
      out.push({ hlc: { ms: parts[3] as number, c: parts[4] as number }, id: parts[5] as Uint8Array })
    }
    return out.reverse()
  }

  batch (ops: StoreOp[]): Promise<void> { return this.#store.batch(ops) }

  /**
   * One id per distinct stamp among the newest envelopes of one kind in a channel, newest
   * `limit` stamps, oldest first. Every piece of a file shares its stamp (#23), so this lists
   * the newest files with one range step each, however many chunks they have.
   */
  async newestStamps (channel: Uint8Array, kind: number, limit: number): Promise<Array<{ id: Uint8Array, hlc: Hlc }>> {
    const out: Array<{ id: Uint8Array, hlc: Hlc }> = []
    const { gte } = prefixRange(['c', channel, kind])
    let lt = prefixRange(['c', channel, kind]).lt
    while (out.length < limit) {
      let found: { id: Uint8Array, hlc: Hlc } | undefined
      for await (const [key] of this.#store.range({ gte, lt, reverse: true, limit: 1 })) {
        const parts = decodeKey(key)
        found = { hlc: { ms: parts[3] as number, c: parts[4] as number }, id: parts[5] as Uint8Array }
      }
      if (found === undefined) break
      out.push(found)
      lt = encodeKey(['c', channel, kind, found.hlc.ms, found.hlc.c]) // below every key of this stamp
    }
    return out.reverse()
  }

  /** Ids of one kind in a channel stamped exactly `hlc` (a file's pieces), in key order, after `after`, at most `limit`. */
  async atStamp (channel: Uint8Array, kind: number, hlc: Hlc, after: Uint8Array | undefined, limit: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    const range = prefixRange(['c', channel, kind, hlc.ms, hlc.c])
    // The smallest key above `after`'s own is that key with a zero byte appended (the store has no `gt`).
    const bounds = after === undefined ? range : { gte: concatBytes([encodeKey(['c', channel, kind, hlc.ms, hlc.c, after]), new Uint8Array(1)]), lt: range.lt }
    for await (const [key] of this.#store.range({ ...bounds, limit })) out.push(decodeKey(key)[5] as Uint8Array)
    return out
  }
}

export function fieldsOf (env: Envelope): IndexedFields {
  return { id: env.id, kind: env.kind, expiresAtMs: env.expiresAtMs, hlc: env.hlc, channel: env.channel }
}
