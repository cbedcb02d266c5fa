/**
 * The `Store` port on LevelDB (`level` 10, classic-level underneath), for the relay daemon.
 * Same semantics as protocol/memory-store.ts; both pass test/store-acceptance.ts.
 *
 * Durability: `batch` resolves once LevelDB has applied the batch to its write-ahead log.
 * With `sync: false` (the default) the log write has reached the operating system, which
 * survives the process being killed (kill -9) but not a power loss or kernel crash; with
 * `sync: true` every batch is fsynced, which survives power loss at a large cost in
 * throughput. The engine group-commits, so it can afford `sync: true` on hardware that may
 * lose power, by batching many messages per call.
 *
 * LevelDB locks its directory: a second process, or a second open in this process, fails
 * fast with StorageError "data directory … is in use by another process".
 *
 * A failed write (a full disk, most often) stops writes until the database has been closed
 * and opened again: LevelDB keeps failing every write after a failed compaction or sync
 * until then, and a log write that failed half-way leaves the log unsafe to append to
 * (records after it may not be recovered), so nothing more is acknowledged on it. Reads
 * go on meanwhile. The store checks for free space itself (limits.ts: from 1 s, doubling
 * to 30 s) and reopens once there is room; opening starts a new log.
 *
 * @example
 * const store = await openLevelStore('/var/lib/ddil/store', { sync: true })
 * await store.batch([{ type: 'put', key, value }])
 * await store.close()
 */
import { statfs } from 'node:fs/promises'
import { Level } from 'level'
import type { Clock, Logger, RangeOptions, Store, StoreOp } from '../../protocol/ports.ts'
import { StorageError, isDdilError } from '../../protocol/errors.ts'
import { validateBatch, validateKey, validateRange } from '../../protocol/memory-store.ts'
import { systemClock } from '../runtime.ts'
import { storeReopenDelayMsMax, storeReopenDelayMsMin, storeReopenFreeBytesMin } from './limits.ts'

export interface LevelStoreOptions {
  /** fsync every batch (survives power loss). Default false: survives kill -9 only. */
  sync?: boolean
  /** Times the checks for space after a write failure; unref'd system timers by default. */
  clock?: Pick<Clock, 'schedule'>
  /** Free bytes for the store on its file system; statfs by default. */
  freeBytes?: (dir: string) => Promise<number>
  /** Told when writes stop and when they resume. */
  logger?: Logger
}

async function statfsFreeBytes (dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

type Db = Level<Uint8Array, Uint8Array>

/** The part of a classic-level iterator we use (level's own typings leave entries unknown). */
interface EntryIterator {
  nextv (size: number): Promise<Array<[Uint8Array, Uint8Array]>>
  close (): Promise<void>
}

/** classic-level has approximateSize; `level`'s typings (shared with browser-level) omit it. */
interface Sized {
  approximateSize (gte: Uint8Array, lt: Uint8Array): Promise<number>
}

/** Opens (creating if missing) the store in `dir`; rejects with StorageError. */
export async function openLevelStore (dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (cause) {
    if (causeCode(cause) === 'LEVEL_LOCKED') {
      throw new StorageError(`data directory ${dir} is in use by another process`, { cause })
    }
    throw new StorageError(`cannot open data directory ${dir}: ${describe(cause)}`, { cause })
  }
  return new LevelStore(db, dir, options)
}

function causeCode (error: unknown): unknown {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause
  return cause?.code
}

function describe (error: unknown): string {
  const cause = (error as { cause?: { message?: unknown } } | undefined)?.cause
  if (typeof cause?.message === 'string') return cause.message
  return error instanceof Error ? error.message : String(error)
}

/** LevelDB hands back Buffers; callers get plain Uint8Arrays, as from MemoryStore. */
function plain (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function wrap (what: string, cause: unknown): StorageError {
  if (isDdilError(cause)) return cause as StorageError
  return new StorageError(`${what} failed: ${describe(cause)}`, { cause })
}

export class LevelStore implements Store {
  readonly dir: string
  readonly sync: boolean
  readonly #o: LevelStoreOptions
  #db: Db
  #closed = false
  /** Set from a failed write until the database has been reopened: writes are refused meanwhile. */
  #writeFailure: StorageError | undefined
  #reopening: Promise<void> | undefined
  #retryMs = storeReopenDelayMsMin
  #cancelRetry: (() => void) | undefined

  /** Use `openLevelStore`; this takes an already-open database. */
  constructor (db: Db, dir: string, options: LevelStoreOptions = {}) {
    this.#db = db
    this.dir = dir
    this.sync = options.sync ?? false
    this.#o = options
  }

  /** Why writes are refused, while they are (a write failed and the database has not been reopened yet). */
  get writeFailure (): StorageError | undefined { return this.#writeFailure }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen()
    validateKey(key)
    await this.#reopening
    try {
      const value = await this.#db.get(key)
      return value === undefined ? undefined : plain(value)
    } catch (cause) {
      throw wrap('get', cause)
    }
  }

  /** Synchronous `get` (LevelDB reads its memtable and cache in-thread; may block on disk). */
  getSync (key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    validateKey(key)
    if (this.#reopening !== undefined) throw new StorageError(`store in ${this.dir} is reopening after a write failure`)
    try {
      const value = this.#db.getSync(key)
      return value === undefined ? undefined : plain(value)
    } catch (cause) {
      throw wrap('getSync', cause)
    }
  }

  async batch (ops: StoreOp[]): Promise<void> {
    this.#checkOpen()
    validateBatch(ops)
    if (ops.length === 0) return
    await this.#reopening
    if (this.#writeFailure !== undefined) {
      throw new StorageError(`store in ${this.dir} takes no writes until it has reopened after a failed write (${this.#writeFailure.message}); it reopens by itself once ${storeReopenFreeBytesMin} bytes are free`, { cause: this.#writeFailure })
    }
    try {
      // LevelDB copies keys and values into its write batch before this resolves.
      await this.#db.batch(ops, { sync: this.sync })
    } catch (cause) {
      const error = wrap('batch', cause)
      this.#writeFailed(error)
      throw error
    }
  }

  #writeFailed (error: StorageError): void {
    if (this.#writeFailure !== undefined || this.#closed) return
    this.#writeFailure = error
    this.#o.logger?.error({ dir: this.dir, err: error.message }, 'store write failed: no more writes until it reopens, once there is space')
    this.#scheduleReopen()
  }

  #scheduleReopen (): void {
    if (this.#closed || this.#cancelRetry !== undefined) return
    const delayMs = this.#retryMs
    this.#retryMs = Math.min(storeReopenDelayMsMax, 2 * this.#retryMs)
    this.#cancelRetry = (this.#o.clock ?? systemClock).schedule(delayMs, () => {
      this.#cancelRetry = undefined
      this.#reopenIfRoom().then(
        (reopened) => { if (!reopened) this.#scheduleReopen() },
        (e: unknown) => {
          this.#o.logger?.error({ dir: this.dir, err: (e as Error).message }, 'store reopen failed; trying again later')
          this.#scheduleReopen()
        })
    })
  }

  /** Reopens the database if its file system has room; true once writes are taken again. */
  async #reopenIfRoom (): Promise<boolean> {
    if (this.#closed) return false
    const free = await (this.#o.freeBytes ?? statfsFreeBytes)(this.dir)
    if (free < storeReopenFreeBytesMin) return false
    this.#reopening = (async () => {
      try {
        if (this.#db.status === 'open') await this.#db.close()
        await this.#db.open()
      } finally {
        this.#reopening = undefined
      }
    })()
    try {
      await this.#reopening
    } catch (cause) {
      throw wrap('reopen', cause)
    }
    this.#writeFailure = undefined
    this.#retryMs = storeReopenDelayMsMin
    this.#o.logger?.info({ dir: this.dir, freeBytes: free }, 'store reopened: writes resume')
    return true
  }

  /**
   * The iterator, and with it LevelDB's implicit snapshot, is created now (or, while the
   * database reopens after a write failure, once it is open); errors surface from `next()`.
   * An iterable that is never iterated holds its iterator until `close()`.
   */
  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    let iterator: EntryIterator | undefined
    let failure: unknown
    const open = (): EntryIterator => this.#db.iterator(levelRange(options)) as unknown as EntryIterator
    const reopening = this.#reopening // then the iterator is created once the database is open again
    try {
      this.#checkOpen()
      validateRange(options)
      if (options.limit !== 0 && reopening === undefined) iterator = open()
    } catch (e) {
      failure = wrap('range', e)
    }
    return (async function * () {
      if (failure !== undefined) throw failure
      if (reopening !== undefined && options.limit !== 0) {
        try {
          await reopening
          iterator = open()
        } catch (e) {
          throw wrap('range', e)
        }
      }
      if (iterator === undefined) return
      try {
        for (;;) {
          const entries = await iterator.nextv(256)
          if (entries.length === 0) return
          for (const [k, v] of entries) yield [plain(k), plain(v)] as [Uint8Array, Uint8Array]
        }
      } catch (cause) {
        throw wrap('range', cause)
      } finally {
        await iterator.close()
      }
    })()
  }

  /**
   * Approximate bytes on disk for keys in [gte, lt), cheap (from table metadata; data still
   * only in the write-ahead log counts as 0). The default bounds cover every tuple key
   * (tags are below 0xFF) and every raw key shorter than four 0xFF bytes.
   */
  async approximateSize (gte: Uint8Array = new Uint8Array(0), lt: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff])): Promise<number> {
    this.#checkOpen()
    await this.#reopening
    try {
      return await (this.#db as unknown as Sized).approximateSize(gte, lt)
    } catch (cause) {
      throw wrap('approximateSize', cause)
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#cancelRetry?.()
    this.#cancelRetry = undefined
    await this.#reopening?.catch(() => { /* closed below either way */ })
    try {
      await this.#db.close()
    } catch (cause) {
      throw wrap('close', cause)
    }
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError(`store in ${this.dir} is closed`)
  }
}

function levelRange (options: RangeOptions): { gte?: Uint8Array, lt?: Uint8Array, limit?: number, reverse?: boolean } {
  const out: { gte?: Uint8Array, lt?: Uint8Array, limit?: number, reverse?: boolean } = {}
  if (options.gte !== undefined) out.gte = options.gte
  if (options.lt !== undefined) out.lt = options.lt
  if (options.limit !== undefined) out.limit = options.limit
  if (options.reverse === true) out.reverse = true
  return out
}
