/**
 * The durable message log: how envelopes and their indexes sit in the `Store`.
 * Appending an envelope writes it and all its index entries in one atomic batch;
 * a purge or eviction removes them in one batch (an eviction leaves a tombstone
 * so reconciliation never fetches the id again). Layout, format version 1:
 *
 *   ['v']                          → u8 layout version
 *   ['e', id]                      → u8 version, u8 flags (bit 0 custody), u48 receivedAtMs, envelope bytes
 *   ['x', expiresAtMs, id]         → ''   by expiry (purge, reconciliation ranges)
 *   ['p', precedence, hlcMs, id]   → ''   by precedence, then age (eviction)
 *   ['s', channel, author, seq, id]→ ''   by channel, author and sequence (gaps, equivocation)
 *   ['c', channel, kind, hlcMs, id] → ''  by channel and kind, then time (a client's backlog)
 *   ['t', id]                      → u48 expiresAtMs   tombstone of an evicted envelope
 *
 * @example
 * const log = new MessageLog(store, sha256)
 * await log.append(env, { custody: true, receivedAtMs })
 * for await (const rec of log.loadAll()) catalog.add(...)
 */
import { ByteReader, ByteWriter, bytesEqual } from '../bytes.ts'
import { StorageError } from '../errors.ts'
import { decodeEnvelope, type Envelope } from '../envelope.ts'
import { encodeKey, decodeKey, prefixRange } from '../keys.ts'
import type { Store, StoreOp } from '../ports.ts'

export const logFormatVersion = 1
const recordVersion = 1
const empty = new Uint8Array(0)

export interface StoredRecord {
  envelope: Envelope
  custody: boolean
  receivedAtMs: number
}

export interface IndexedFields {
  id: Uint8Array
  kind: number
  expiresAtMs: number
  precedence: number
  hlcMs: number
  channel: Uint8Array
  author: Uint8Array
  seq: number
}

function indexKeys (f: IndexedFields): Uint8Array[] {
  return [
    encodeKey(['x', f.expiresAtMs, f.id]),
    encodeKey(['p', f.precedence, f.hlcMs, f.id]),
    encodeKey(['s', f.channel, f.author, f.seq, f.id]),
    encodeKey(['c', f.channel, f.kind, f.hlcMs, f.id]),
  ]
}

export function encodeRecord (env: Envelope, custody: boolean, receivedAtMs: number): Uint8Array {
  const w = new ByteWriter(8 + env.bytes.length)
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

  /** Checks (or writes, on an empty store) the layout version. */
  async open (): Promise<void> {
    const v = await this.#store.get(encodeKey(['v']))
    if (v === undefined) await this.#store.batch([{ type: 'put', key: encodeKey(['v']), value: Uint8Array.of(logFormatVersion) }])
    else if (v.length !== 1 || v[0] !== logFormatVersion) throw new StorageError(`store layout version ${v[0]} is not ${logFormatVersion}; refusing to guess`)
  }

  appendOps (env: Envelope, custody: boolean, receivedAtMs: number): StoreOp[] {
    const ops: StoreOp[] = [{ type: 'put', key: encodeKey(['e', env.id]), value: encodeRecord(env, custody, receivedAtMs) }]
    for (const key of indexKeys(fieldsOf(env))) ops.push({ type: 'put', key, value: empty })
    return ops
  }

  /** Ops that delete an envelope and its indexes; with `tombstone`, remember the id until expiry. */
  removeOps (f: IndexedFields, tombstone: boolean): StoreOp[] {
    const ops: StoreOp[] = [{ type: 'del', key: encodeKey(['e', f.id]) }]
    for (const key of indexKeys(f)) ops.push({ type: 'del', key })
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

  tombstoneDeleteOp (id: Uint8Array): StoreOp {
    return { type: 'del', key: encodeKey(['t', id]) }
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

  async * loadTombstones (): AsyncIterable<{ id: Uint8Array, expiresAtMs: number }> {
    for await (const [key, value] of this.#store.range(prefixRange(['t']))) {
      yield { id: decodeKey(key)[1] as Uint8Array, expiresAtMs: new ByteReader(value).uintBE(6) }
    }
  }

  /** Ids of one author's envelopes in a channel with sequence in [from, to]. */
  async * bySequence (channel: Uint8Array, author: Uint8Array, from: number, to: number): AsyncIterable<Uint8Array> {
    const gte = encodeKey(['s', channel, author, from])
    const lt = encodeKey(['s', channel, author, to + 1])
    for await (const [key] of this.#store.range({ gte, lt })) yield decodeKey(key)[4] as Uint8Array
  }

  /** The newest `limit` ids of one kind in a channel, oldest first (a client's backlog). */
  async byChannel (channel: Uint8Array, kind: number, limit: number): Promise<Uint8Array[]> {
    const ids: Uint8Array[] = []
    for await (const [key] of this.#store.range({ ...prefixRange(['c', channel, kind]), reverse: true, limit })) ids.push(decodeKey(key)[4] as Uint8Array)
    return ids.reverse()
  }

  /** Ids by expiry in [fromMs, toMs). */
  async * byExpiry (fromMs: number, toMs: number): AsyncIterable<{ id: Uint8Array, expiresAtMs: number }> {
    for await (const [key] of this.#store.range({ gte: encodeKey(['x', fromMs]), lt: encodeKey(['x', toMs]) })) {
      const parts = decodeKey(key)
      yield { expiresAtMs: parts[1] as number, id: parts[2] as Uint8Array }
    }
  }

  /** Ids by precedence then age, most evictable first (routine, oldest). */
  async * byPrecedence (precedence: number): AsyncIterable<Uint8Array> {
    for await (const [key] of this.#store.range(prefixRange(['p', precedence]))) yield decodeKey(key)[3] as Uint8Array
  }

  batch (ops: StoreOp[]): Promise<void> { return this.#store.batch(ops) }
}

export function fieldsOf (env: Envelope): IndexedFields {
  return { id: env.id, kind: env.kind, expiresAtMs: env.expiresAtMs, precedence: env.precedence, hlcMs: env.hlc.ms, channel: env.channel, author: env.author, seq: env.seq }
}
