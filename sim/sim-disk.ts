/**
 * A simulated node's disk: an ordered key-value `Store` tuned for what the engine
 * does in a long run: many small batches, point reads, and ordered ranges only when
 * a node (re)starts. Values live in `ValueSlots` keyed by the key's binary string (one
 * char per byte, so string order is bytewise order); the sorted key list is built lazily
 * on the first range after a key was added or removed. Writes cost O(1), a range after
 * writes O(n log n) once: at a city scale that is what keeps storage off the profile
 * (the general-purpose MemoryStore keeps keys sorted on every insert).
 *
 * Memory and the collector's work are what limit a 200-node run (every node stores
 * every envelope, under two keys), so disks of one fleet share a `StringPool`: keys and
 * value tails are the same bytes on every node, held once, and a stored copy adds no
 * heap object of its own (see disk-values.ts).
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
import { fromBinary, StringPool, toBinary, ValueSlots } from './disk-values.ts'

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
  /** Keys with non-empty values; keys held with empty values live in the pool's bit sets. */
  #values: ValueSlots
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

  get size (): number { return this.#values.size + this.#emptyCount }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> { return this.getSync(key) }

  getSync (key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    validateKey(key)
    const k = toBinary(key)
    const v = this.#values.get(k)
    if (v !== undefined) return v
    return this.#pool.holdsEmpty(this.#id, k) ? new Uint8Array(0) : undefined
  }

  async batch (ops: StoreOp[]): Promise<void> { this.batchSync(ops) }

  batchSync (ops: readonly StoreOp[]): void {
    this.#checkOpen()
    validateBatch(ops)
    this.applyValidated(ops)
  }

  /** Applies ops already checked by `validateBatch` (the simulated store validates when a batch is issued). */
  applyValidated (ops: readonly StoreOp[]): void {
    const values = this.#values
    const pool = this.#pool
    for (const op of ops) {
      const k = toBinary(op.key)
      let added = false
      let removed = false
      if (op.type === 'del') {
        removed = values.delete(k)
        if (pool.clearEmpty(this.#id, k)) { this.#emptyCount--; removed = true }
      } else if (op.value.length === 0) {
        const wasValue = values.delete(k)
        if (pool.setEmpty(this.#id, k)) { this.#emptyCount++; added = !wasValue }
      } else {
        const wasEmpty = pool.clearEmpty(this.#id, k)
        if (wasEmpty) this.#emptyCount--
        const ik = pool.intern(k)
        added = values.set(ik, op.value) && !wasEmpty
      }
      if (added || removed) this.#sorted = undefined
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
    this.#sorted ??= [...this.#values.keys(), ...this.#pool.emptyKeysOf(this.#id)].sort()
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

  /** An independent open copy (values are immutable strings, so they are shared). */
  clone (): SimDisk {
    const copy = new SimDisk(this.#pool)
    copy.#values = this.#values.clone()
    for (const k of this.#pool.emptyKeysOf(this.#id)) this.#pool.setEmpty(copy.#id, k)
    copy.#emptyCount = this.#emptyCount
    copy.#sorted = this.#sorted?.slice()
    return copy
  }

  #entry (k: string): [Uint8Array, Uint8Array] {
    return [fromBinary(k), this.#values.get(k) ?? new Uint8Array(0)]
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError('store is closed')
  }
}
