/**
 * A simulated node's disk: an ordered key-value `Store` tuned for what the engine
 * does in a long run: many small batches, point reads, and ordered ranges only when
 * a node (re)starts. Values live in a `Map` keyed by the key's binary string (one char
 * per byte, so string order is bytewise order); the sorted key list is built lazily
 * on the first range after a key was added or removed. Writes cost O(1), a range after
 * writes O(n log n) once: at a city scale that is what keeps storage off the profile
 * (the general-purpose MemoryStore keeps keys sorted on every insert).
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

function toBinary (bytes: Uint8Array): string {
  if (bytes.length <= 4096) return String.fromCharCode.apply(null, bytes as unknown as number[])
  let s = ''
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[])
  return s
}

function fromBinary (s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

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
  #values = new Map<string, Uint8Array>()
  #sorted: string[] | undefined = []
  #closed = false

  get size (): number { return this.#values.size }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> { return this.getSync(key) }

  getSync (key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    validateKey(key)
    return this.#values.get(toBinary(key))?.slice()
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
    for (const op of ops) {
      const k = toBinary(op.key)
      if (op.type === 'put') {
        if (this.#sorted !== undefined && !values.has(k)) this.#sorted = undefined
        values.set(k, op.value.length === 0 ? empty : op.value.slice())
      } else if (values.delete(k)) this.#sorted = undefined
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
    this.#sorted ??= [...this.#values.keys()].sort()
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

  /** An independent open copy (values are never mutated in place, so they are shared). */
  clone (): SimDisk {
    const copy = new SimDisk()
    copy.#values = new Map(this.#values)
    copy.#sorted = this.#sorted?.slice()
    return copy
  }

  #entry (k: string): [Uint8Array, Uint8Array] {
    return [fromBinary(k), (this.#values.get(k) as Uint8Array).slice()]
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError('store is closed')
  }
}

const empty = new Uint8Array(0)
