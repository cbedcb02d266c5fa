/**
 * A simulated node's disk: an ordered key-value `Store` tuned for what the engine
 * does in a long run: many small batches, point reads, and ordered ranges only when
 * a node (re)starts. Keys are binary strings (one char per byte, so string order is
 * bytewise order); the fleet's `StringPool` says which disks hold each key and in which
 * of their `ValueSlots`; the sorted key list is built lazily on the first range after a
 * key was added or removed. Writes cost O(1), a range after
 * writes O(n log n) once: at a city scale that is what keeps storage off the profile
 * (the general-purpose MemoryStore keeps keys sorted on every insert).
 *
 * Memory, the collector's work and cache misses are what limit a 200-node run (every
 * node stores every envelope, under two keys), so disks of one fleet share a
 * `StringPool`: keys and value tails are the same bytes on every node, held once, a
 * stored copy adds no heap object of its own, and no disk keeps a map of its own
 * (see disk-values.ts).
 *
 * Same semantics as every Store (it passes test/store-acceptance.ts): all-or-nothing
 * batches validated first, values copied in and out, ranges are snapshots, closed
 * stores fail with StorageError.
 *
 * @example
 * const disk = new SimDisk()
 * disk.batchSync([{ type: 'put', key, value }])
 * const copy = disk.clone()
 */
import { StorageError } from '../protocol/errors.ts'
import { validateBatch, validateKey, validateRange } from '../protocol/memory-store.ts'
import type { RangeOptions, Store, StoreOp } from '../protocol/ports.ts'
import { fromBinary, StringPool, toBinary, ValueSlots, type KeyHolders } from './disk-values.ts'

export { StringPool } from './disk-values.ts'

/** First index whose key is >= k. */
function lowerBound (keys: readonly string[], k: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < k) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class SimDisk implements Store {
  /** Non-empty values by slot; which key is in which slot, and which keys are held empty, is the pool's (KeyHolders). */
  #values: ValueSlots
  #valueCount = 0
  #emptyCount = 0
  #sorted: string[] | undefined = []
  #closed = false
  readonly #pool: StringPool
  readonly #id: number

  constructor (pool: StringPool = new StringPool()) {
    this.#pool = pool
    this.#id = pool.register()
    this.#values = new ValueSlots(pool)
  }

  get size (): number { return this.#valueCount + this.#emptyCount }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> { return this.getSync(key) }

  getSync (key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    validateKey(key)
    return this.#read(this.#pool.holders(toBinary(key)))
  }

  async batch (ops: StoreOp[]): Promise<void> { this.batchSync(ops) }

  batchSync (ops: readonly StoreOp[]): void {
    this.#checkOpen()
    validateBatch(ops)
    this.applyValidated(ops)
  }

  /** Applies ops already checked by `validateBatch` (the simulated store validates when a batch is issued). */
  applyValidated (ops: readonly StoreOp[]): void {
    const pool = this.#pool
    const disk = this.#id
    for (const op of ops) {
      const k = toBinary(op.key)
      const held = op.type === 'del' ? pool.holders(k) : pool.holdersFor(k)
      if (held === undefined) continue // deleting a key no disk holds
      const slot = pool.slotOf(disk, held)
      const wasEmpty = pool.holdsEmpty(disk, held)
      if (op.type === 'put' && op.value.length > 0) {
        if (slot >= 0) this.#values.write(slot, op.value, held)
        else { pool.setSlot(disk, held, this.#values.add(op.value, held)); this.#valueCount++ }
        if (wasEmpty) { pool.setEmpty(disk, held, false); this.#emptyCount-- }
      } else {
        if (slot >= 0) { this.#values.free(slot); pool.setSlot(disk, held, -1); this.#valueCount-- }
        if (op.type === 'put' && !wasEmpty) { pool.setEmpty(disk, held, true); this.#emptyCount++ }
        if (op.type === 'del' && wasEmpty) { pool.setEmpty(disk, held, false); this.#emptyCount-- }
        if (op.type === 'del') pool.release(k, held)
      }
      const heldBefore = slot >= 0 || wasEmpty
      if (heldBefore !== (op.type === 'put')) this.#sorted = undefined // a key added or removed
    }
  }

  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    let entries: Array<[Uint8Array, Uint8Array]> = []
    let failure: unknown
    try { entries = this.rangeSync(options) } catch (e) { failure = e }
    return (async function * () {
      if (failure !== undefined) throw failure
      yield * entries
    })()
  }

  /** The entries in range, in key order (copies). */
  rangeSync (options: RangeOptions = {}): Array<[Uint8Array, Uint8Array]> {
    this.#checkOpen()
    validateRange(options)
    this.#sorted ??= this.#pool.keysOf(this.#id).sort()
    const keys = this.#sorted
    const from = options.gte === undefined ? 0 : lowerBound(keys, toBinary(options.gte))
    const to = options.lt === undefined ? keys.length : lowerBound(keys, toBinary(options.lt))
    const limit = options.limit ?? Infinity
    const out: Array<[Uint8Array, Uint8Array]> = []
    if (options.reverse === true) {
      for (let i = to - 1; i >= from && out.length < limit; i--) out.push(this.#entry(keys[i]))
    } else {
      for (let i = from; i < to && out.length < limit; i++) out.push(this.#entry(keys[i]))
    }
    return out
  }

  async close (): Promise<void> { this.#closed = true }

  /** An independent open copy (value tails are never written to, so they are shared). */
  clone (): SimDisk {
    const copy = new SimDisk(this.#pool)
    copy.#values = this.#values.clone()
    for (const k of this.#pool.keysOf(this.#id)) {
      const held = this.#pool.holdersFor(k)
      const slot = this.#pool.slotOf(this.#id, held)
      if (slot >= 0) this.#pool.setSlot(copy.#id, held, slot)
      if (this.#pool.holdsEmpty(this.#id, held)) this.#pool.setEmpty(copy.#id, held, true)
    }
    copy.#valueCount = this.#valueCount
    copy.#emptyCount = this.#emptyCount
    copy.#sorted = this.#sorted?.slice()
    return copy
  }

  #entry (k: string): [Uint8Array, Uint8Array] {
    return [fromBinary(k), this.#read(this.#pool.holders(k)) ?? new Uint8Array(0)]
  }

  /** A fresh copy of this disk's value for a key, empty for an empty hold, undefined if not held. */
  #read (held: KeyHolders | undefined): Uint8Array | undefined {
    const slot = this.#pool.slotOf(this.#id, held)
    if (slot >= 0) return this.#values.read(slot)
    return this.#pool.holdsEmpty(this.#id, held) ? new Uint8Array(0) : undefined
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError('store is closed')
  }
}
