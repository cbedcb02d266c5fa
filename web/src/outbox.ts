/**
 * Envelopes the user made that the relay has not yet acknowledged, kept on the device in
 * IndexedDB (with strict durability) before anything is sent, so a message posted while
 * the relay is unreachable survives a reload or a crash. When a connection is up, `pump`
 * submits them one at a time in the order they were made (a channel's genesis before its
 * keys, keys before messages) and deletes each only once the relay holds it durably.
 * Exactly once: an envelope is signed once and keeps its id; resubmitting it after a lost
 * reply is a no-op at the relay (it holds that id already), and readers show each id once.
 * A refusal the relay will repeat (bad signature, not authorised, expired) ends the entry
 * with its reason; anything else (storage full, rate, connection lost) leaves it queued.
 *
 * @example
 * const outbox = await Outbox.load(db)
 * await outbox.add(env, cachedCopy)       // durable; then shown as "kept on this device"
 * await outbox.pump(api, report)          // when online
 */
import { toHex } from '../../protocol/bytes.ts'
import type { Envelope } from '../../protocol/envelope.ts'
import { isDdilError, LimitError, type DdilError } from '../../protocol/errors.ts'
import { wireCodeOf, type WireErrorCode } from '../../node/api/errors.ts'
import type { ApiConnection } from './api.ts'
import type { CachedEnvelope } from './cache.ts'
import { cacheKey } from './cache.ts'
import type { Db } from './idb.ts'
import { outboxEntriesMax } from './limits.ts'

export interface OutboxEntry { id: string, channel: string, kind: number, bytes: Uint8Array, createdAtMs: number }

/** Relay refusals that trying again cannot change. */
const finalCodes: ReadonlySet<WireErrorCode> = new Set(['ERR_DECODE', 'ERR_SIGNATURE', 'ERR_UNAUTHORISED', 'ERR_EXPIRED', 'ERR_CLOCK_SKEW', 'ERR_CRYPTO'])

export interface PumpReport {
  submitted (entry: OutboxEntry): void
  refused (entry: OutboxEntry, code: WireErrorCode, reason: string): void
}

/** Whether an error is the relay's own answer (it carries a wire code), not a local failure. */
function relayAnswer (e: unknown): e is DdilError {
  return isDdilError(e) && typeof (e.cause as { wireCode?: unknown } | undefined)?.wireCode === 'string'
}

export class Outbox {
  readonly #db: Db
  /** Id hex → its key in the store, in posting order. */
  readonly #entries = new Map<string, { key: IDBValidKey, entry: OutboxEntry }>()
  #pumping: Promise<void> | undefined

  private constructor (db: Db) { this.#db = db }

  static async load (db: Db): Promise<Outbox> {
    const box = new Outbox(db)
    const keys = await db.keys('outbox')
    const values = await db.getAll<OutboxEntry>('outbox')
    values.forEach((entry, i) => box.#entries.set(entry.id, { key: keys[i], entry }))
    return box
  }

  get size (): number { return this.#entries.size }
  has (idHex: string): boolean { return this.#entries.has(idHex) }
  entries (): OutboxEntry[] { return [...this.#entries.values()].map(e => e.entry) }

  /** Keeps the envelope (and its copy in the channel cache) durably; resolves once it is on disk. */
  async add (env: Envelope, cached: CachedEnvelope, nowMs: number): Promise<void> {
    if (this.#entries.size >= outboxEntriesMax) throw new LimitError(`${outboxEntriesMax} messages are already waiting on this device for the relay; wait until it is reachable`)
    const entry: OutboxEntry = { id: toHex(env.id), channel: toHex(env.channel), kind: env.kind, bytes: env.bytes, createdAtMs: nowMs }
    let request: IDBRequest<IDBValidKey> | undefined
    await this.#db.write(['outbox', 'envelopes'], store => {
      request = store('outbox').add(entry)
      store('envelopes').put(cached, cacheKey(cached.channel, cached.id))
    })
    this.#entries.set(entry.id, { key: (request as IDBRequest<IDBValidKey>).result, entry })
  }

  /** Submits everything queued, in order, one at a time; stops at the first failure that may pass. */
  async pump (api: ApiConnection, report: PumpReport): Promise<void> {
    this.#pumping ??= this.#drain(api, report).finally(() => { this.#pumping = undefined })
    await this.#pumping
  }

  async #drain (api: ApiConnection, report: PumpReport): Promise<void> {
    // The oldest entry each time round: what is added while draining goes out in this drain too.
    for (let next = this.#entries.entries().next(); next.done !== true; next = this.#entries.entries().next()) {
      const [id, { key, entry }] = next.value
      if (!api.open) return
      try {
        await api.submit(entry.bytes)
      } catch (e) {
        if (!relayAnswer(e) || !finalCodes.has(wireCodeOf(e))) return
        await this.#db.delete('outbox', key)
        this.#entries.delete(id)
        report.refused(entry, wireCodeOf(e), e.message)
        continue
      }
      await this.#db.delete('outbox', key)
      this.#entries.delete(id)
      report.submitted(entry)
    }
  }
}
