/**
 * The device's database (IndexedDB), as a few promise-returning calls. Stores:
 *   identity   the user's keys, sealed under the PIN (keystore.ts), key 'me'
 *   meta       small values: device seed, read marks, hybrid clock, settings
 *   seq        per-channel sequence counters (a number is durable before it is used)
 *   outbox     envelopes the relay has not acknowledged yet, in posting order
 *   envelopes  the channels' envelopes as the relay gave them (ciphertext), to read offline
 *   mine       the relay's last word on each of the user's own messages
 * Writes that must survive a crash (keys, sequence numbers, outbox) ask for strict durability.
 *
 * @example
 * const db = await openDatabase()
 * await db.put('meta', 'dark', 'theme')
 * const theme = await db.get<string>('meta', 'theme')
 */
import { StorageError } from '../../protocol/errors.ts'

export const databaseName = 'ddil-field'
const databaseVersion = 1

export type StoreName = 'identity' | 'meta' | 'seq' | 'outbox' | 'envelopes' | 'mine'
const durableStores: ReadonlySet<StoreName> = new Set(['identity', 'seq', 'outbox'])

function request<T> (r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => { resolve(r.result) }
    r.onerror = () => { reject(new StorageError(`the device's storage refused: ${r.error?.message ?? 'unknown error'}`)) }
  })
}

function done (tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => { resolve() }
    const fail = (): void => { reject(new StorageError(`the device's storage refused a write: ${tx.error?.message ?? 'aborted'}`)) }
    tx.onerror = fail
    tx.onabort = fail
  })
}

export class Db {
  readonly #db: IDBDatabase
  constructor (db: IDBDatabase) { this.#db = db }

  #tx (stores: StoreName[], mode: IDBTransactionMode): IDBTransaction {
    const strict = mode === 'readwrite' && stores.some(s => durableStores.has(s))
    return this.#db.transaction(stores, mode, { durability: strict ? 'strict' : 'default' })
  }

  async get<T> (store: StoreName, key: IDBValidKey): Promise<T | undefined> {
    return await request(this.#tx([store], 'readonly').objectStore(store).get(key)) as T | undefined
  }

  async getAll<T> (store: StoreName, range?: IDBKeyRange): Promise<T[]> {
    return await request(this.#tx([store], 'readonly').objectStore(store).getAll(range)) as T[]
  }

  async keys (store: StoreName, range?: IDBKeyRange): Promise<IDBValidKey[]> {
    return await request(this.#tx([store], 'readonly').objectStore(store).getAllKeys(range))
  }

  async put (store: StoreName, value: unknown, key?: IDBValidKey): Promise<void> {
    const tx = this.#tx([store], 'readwrite')
    tx.objectStore(store).put(value, key)
    await done(tx)
  }

  /** Adds to an auto-incremented store; resolves with the new key once durable. */
  async add (store: StoreName, value: unknown): Promise<IDBValidKey> {
    const tx = this.#tx([store], 'readwrite')
    const key = request(tx.objectStore(store).add(value))
    await done(tx)
    return await key
  }

  async delete (store: StoreName, key: IDBValidKey | IDBKeyRange): Promise<void> {
    const tx = this.#tx([store], 'readwrite')
    tx.objectStore(store).delete(key)
    await done(tx)
  }

  async count (store: StoreName, range?: IDBKeyRange): Promise<number> {
    return await request(this.#tx([store], 'readonly').objectStore(store).count(range))
  }

  /**
   * Reads a value and writes what `update` makes of it, in one transaction: two tabs
   * never both see the old value (sequence numbers stay unique).
   */
  async update<T> (store: StoreName, key: IDBValidKey, update: (old: T | undefined) => T): Promise<T> {
    const tx = this.#tx([store], 'readwrite')
    const s = tx.objectStore(store)
    let next: T | undefined
    const read = s.get(key)
    read.onsuccess = () => {
      next = update(read.result as T | undefined)
      s.put(next, key)
    }
    await done(tx)
    return next as T
  }

  /** Puts many values into one store in one transaction. */
  async putMany (store: StoreName, entries: Array<{ key?: IDBValidKey, value: unknown }>): Promise<void> {
    if (entries.length === 0) return
    const tx = this.#tx([store], 'readwrite')
    const s = tx.objectStore(store)
    for (const e of entries) s.put(e.value, e.key)
    await done(tx)
  }

  /** Several writes across stores, all or nothing (an outbox entry and its cached copy). */
  async write (stores: StoreName[], fn: (store: (name: StoreName) => IDBObjectStore) => void): Promise<void> {
    const tx = this.#tx(stores, 'readwrite')
    fn(name => tx.objectStore(name))
    await done(tx)
  }

  close (): void { this.#db.close() }
}

export async function openDatabase (name = databaseName): Promise<Db> {
  if (typeof indexedDB === 'undefined') throw new StorageError('this browser offers no IndexedDB storage here (a private window may turn it off)')
  const open = indexedDB.open(name, databaseVersion)
  open.onupgradeneeded = () => {
    const db = open.result
    for (const store of ['identity', 'meta', 'seq', 'envelopes', 'mine'] as const) {
      if (!db.objectStoreNames.contains(store)) db.createObjectStore(store)
    }
    if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { autoIncrement: true })
  }
  const db = await request(open)
  return new Db(db)
}

/** Removes everything this app keeps on the device (the "forget this device" button). */
export async function deleteDatabase (name = databaseName): Promise<void> {
  await request(indexedDB.deleteDatabase(name))
}
