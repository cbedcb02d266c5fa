/**
 * Envelopes the user made that the relay has not yet acknowledged, kept on the device in
 * IndexedDB (with strict durability) before anything is sent, so a message posted while
 * the relay is unreachable survives a reload or a crash. When a connection is up, `pump`
 * submits them in the order they were made (a channel's genesis before its keys, keys before
 * messages; a file's chunks up to 32 a request, #23) and deletes each only once the relay
 * holds it durably.
 * Exactly once: an envelope is signed once and keeps its id; resubmitting it after a lost
 * reply is a no-op at the relay (it holds that id already), and readers show each id once.
 * A refusal the relay will repeat (bad signature, not authorised, expired) ends the entry
 * with its reason; anything else (storage full, rate, connection lost) leaves it queued.
 *
 * @example
 * const outbox = await Outbox.load(db)
 * await outbox.add(env, cachedCopy)       // durable; then shown as "kept on this device"
 * await outbox.addBatch(chunks)           // a file's chunks, one durable write
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
import { fileChunkBytes, submitBatchEnvelopesMax } from '../../protocol/limits.ts'
import { formatBytes } from '../../protocol/units.ts'
import { outboxChunksMax, outboxEntriesMax, submitBatchGapMs } from './limits.ts'

/** `file`: a file's chunk (#23), naming its manifest (id hex): it goes with its neighbours in one `submitBatch`. */
export interface OutboxEntry { id: string, channel: string, kind: number, bytes: Uint8Array, createdAtMs: number, file?: string }

interface Queued { key: IDBValidKey, entry: OutboxEntry }

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
  readonly #entries = new Map<string, Queued>()
  /** Chunks waiting, in all and per file (manifest id hex). */
  #chunks = 0
  readonly #perFile = new Map<string, number>()
  #pumping: Promise<void> | undefined

  private constructor (db: Db) { this.#db = db }

  static async load (db: Db): Promise<Outbox> {
    const box = new Outbox(db)
    const keys = await db.keys('outbox')
    const values = await db.getAll<OutboxEntry>('outbox')
    values.forEach((entry, i) => { box.#set({ key: keys[i], entry }) })
    return box
  }

  #set (q: Queued): void {
    this.#entries.set(q.entry.id, q)
    const file = q.entry.file
    if (file === undefined) return
    this.#chunks++
    this.#perFile.set(file, (this.#perFile.get(file) ?? 0) + 1)
  }

  #delete (entry: OutboxEntry): void {
    if (!this.#entries.delete(entry.id) || entry.file === undefined) return
    this.#chunks--
    const left = (this.#perFile.get(entry.file) ?? 1) - 1
    if (left > 0) this.#perFile.set(entry.file, left)
    else this.#perFile.delete(entry.file)
  }

  /** Envelopes waiting, a file's chunks not counted. */
  get size (): number { return this.#entries.size - this.#chunks }
  /** Chunks of file `fileHex` (its manifest's id) still waiting. */
  chunksWaiting (fileHex: string): number { return this.#perFile.get(fileHex) ?? 0 }
  has (idHex: string): boolean { return this.#entries.has(idHex) }
  entries (): OutboxEntry[] { return [...this.#entries.values()].map(e => e.entry) }

  /** Keeps the envelope (and its copy in the channel cache, if given) durably; resolves once it is on disk. */
  async add (env: Envelope, cached: CachedEnvelope | undefined, nowMs: number): Promise<void> {
    this.#room(1, false)
    const entry: OutboxEntry = { id: toHex(env.id), channel: toHex(env.channel), kind: env.kind, bytes: env.bytes, createdAtMs: nowMs }
    let request: IDBRequest<IDBValidKey> | undefined
    await this.#db.write(['outbox', 'envelopes'], store => {
      request = store('outbox').add(entry)
      if (cached !== undefined) store('envelopes').put(cached, cacheKey(cached.channel, cached.id))
    })
    this.#set({ key: (request as IDBRequest<IDBValidKey>).result, entry })
  }

  /** Keeps a file's chunks durably in one write, to go to the relay in batches (they are not cached: the relay serves them again). */
  async addBatch (envs: Envelope[], nowMs: number): Promise<void> {
    this.#room(envs.length, true)
    const entries: OutboxEntry[] = envs.map(env => ({ id: toHex(env.id), channel: toHex(env.channel), kind: env.kind, bytes: env.bytes, createdAtMs: nowMs, file: toHex(env.deps[0]) }))
    const requests: Array<IDBRequest<IDBValidKey>> = []
    await this.#db.write(['outbox'], store => { for (const e of entries) requests.push(store('outbox').add(e)) })
    entries.forEach((entry, i) => { this.#set({ key: requests[i].result, entry }) })
  }

  /** Whether `count` more envelopes (or a file's chunks) fit. */
  fits (count: number, chunks = false): boolean {
    return chunks ? this.#chunks + count <= outboxChunksMax : this.size + count <= outboxEntriesMax
  }

  #room (count: number, chunks: boolean): void {
    if (this.fits(count, chunks)) return
    throw new LimitError(chunks
      ? `files of ${formatBytes(this.#chunks * fileChunkBytes)} are already waiting on this device for the relay; wait until it has them`
      : `${outboxEntriesMax} messages are already waiting on this device for the relay; wait until it is reachable`)
  }

  /** Submits everything queued, in order (a file's chunks a batch at a time); stops at the first failure that may pass. */
  async pump (api: ApiConnection, report: PumpReport): Promise<void> {
    this.#pumping ??= this.#drain(api, report).finally(() => { this.#pumping = undefined })
    await this.#pumping
  }

  async #drain (api: ApiConnection, report: PumpReport): Promise<void> {
    // The oldest entries each time round: what is added while draining goes out in this drain too.
    for (let run = this.#nextRun(); run.length > 0; run = this.#nextRun()) {
      if (!api.open) return
      if (run.length === 1 && run[0].entry.file === undefined) {
        if (!await this.#submitOne(api, run[0], report)) return
        continue
      }
      try {
        await api.submitBatch(run.map(r => r.entry.bytes))
      } catch (e) {
        if (!relayAnswer(e) || !finalCodes.has(wireCodeOf(e))) return
        // One of the batch is refused for good: find which, one at a time (those held already are no-ops).
        for (const one of run) if (!await this.#submitOne(api, one, report)) return
        continue
      }
      await this.#db.write(['outbox'], store => { for (const r of run) store('outbox').delete(r.key) })
      for (const r of run) { this.#delete(r.entry); report.submitted(r.entry) }
      // A file's batches leave room for the rest of the connection's requests (node/api/limits.ts).
      if (this.#nextRun()[0]?.entry.file !== undefined) await new Promise(resolve => setTimeout(resolve, submitBatchGapMs))
    }
  }

  /** The oldest entry, with the batchable entries right after it when it is batchable itself (a file's chunks). */
  #nextRun (): Queued[] {
    const run: Queued[] = []
    for (const q of this.#entries.values()) {
      if (run.length > 0 && (q.entry.file === undefined || run.length >= submitBatchEnvelopesMax)) break
      run.push(q)
      if (q.entry.file === undefined) break
    }
    return run
  }

  /** Submits one entry; returns whether to go on (false: a failure that may pass). */
  async #submitOne (api: ApiConnection, { key, entry }: Queued, report: PumpReport): Promise<boolean> {
    try {
      await api.submit(entry.bytes)
    } catch (e) {
      if (!relayAnswer(e) || !finalCodes.has(wireCodeOf(e))) return false
      await this.#db.delete('outbox', key)
      this.#delete(entry)
      report.refused(entry, wireCodeOf(e), e.message)
      return true
    }
    await this.#db.delete('outbox', key)
    this.#delete(entry)
    report.submitted(entry)
    return true
  }
}
